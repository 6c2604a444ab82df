module Functional.Tests.CliTests

open Expecto
open Functional.Cli

let private parse (line: string) =
    Parser.parse (line.Split(' ', System.StringSplitOptions.RemoveEmptyEntries))

let private train line =
    match parse line with
    | Run(Command.Train t) -> t
    | other -> failtestf "expected a train command from '%s', got %A" line other

let private eval line =
    match parse line with
    | Run(Command.Eval e) -> e
    | other -> failtestf "expected an eval command from '%s', got %A" line other

let private predict line =
    match parse line with
    | Run(Command.Predict p) -> p
    | other -> failtestf "expected a predict command from '%s', got %A" line other

let private bench line =
    match parse line with
    | Run(Command.Bench b) -> b
    | other -> failtestf "expected a bench command from '%s', got %A" line other

let private invalid line =
    match parse line with
    | Invalid message -> message
    | other -> failtestf "expected Invalid from '%s', got %A" line other

let private help line =
    match parse line with
    | Help text -> text
    | other -> failtestf "expected Help from '%s', got %A" line other

let private contains (text: string) (part: string) =
    Expect.stringContains text part $"'%s{part}' should appear in:\n%s{text}"

/// `line` is rejected with a message naming `option`, plus the usage hint.
let private rejects line option =
    test line {
        let message = invalid line
        contains message option
        contains message "--help' for usage."
    }

let private defaultTests =
    testList
        "train defaults"
        [
            test "no options" {
                let t = train "train"
                Expect.isNull t.Data.Train "train"
                Expect.isNull t.Data.TrainLabels "train labels"
                Expect.isNull t.Data.Test "test"
                Expect.isNull t.Data.TestLabels "test labels"
                Expect.equal t.Data.Scale "unit" "scale"
                Expect.equal t.Network.Layers [| 784; 512; 10 |] "layers"
                Expect.equal t.Network.Activation "relu" "activation"
                Expect.equal t.Network.Output "softmax" "output"
                Expect.equal t.Network.Loss "ce" "loss"
                Expect.equal t.Network.Init "he" "init"
                Expect.isTrue t.Network.Bias "bias"
                Expect.equal t.Optimizer "adam" "optimizer"
                Expect.equal t.Lr 0.001 "lr"
                Expect.equal t.L2 1e-4 "l2"
                Expect.equal t.Momentum 0.9 "momentum"
                Expect.equal t.Epochs 15 "epochs"
                Expect.equal t.Batch 32 "batch"
                Expect.equal t.Seed 1 "seed"
                Expect.equal t.Precision "float32" "precision"
                Expect.equal t.Reduction "mean" "reduction"
                Expect.isNull t.Run "run"
                Expect.equal t.Threads 0 "threads"
                Expect.isFalse t.Quiet "quiet"
            }
            test "sgd and momentum default lr is 0.1" {
                Expect.equal (train "train --optimizer sgd").Lr 0.1 "sgd"
                Expect.equal (train "train --optimizer momentum").Lr 0.1 "momentum"
            }
            test "adam default lr is 0.001" { Expect.equal (train "train --optimizer adam").Lr 0.001 "adam" }
            test "explicit lr wins over the optimizer default" {
                Expect.equal (train "train --optimizer sgd --lr 0.5").Lr 0.5 "sgd"
                Expect.equal (train "train --lr 0.5").Lr 0.5 "adam"
            }
            test "eval defaults" {
                let e = eval "eval --model m.bin"
                Expect.equal e.Model "m.bin" "model"
                Expect.isNull e.Data "data"
                Expect.isNull e.DataLabels "data labels"
                Expect.isNull e.Scale "scale"
                Expect.equal e.Seed 1 "seed"
                Expect.equal e.Threads 0 "threads"
            }
            test "predict defaults" {
                let p = predict "predict --model runs/a"
                Expect.equal p.Model "runs/a" "model"
                Expect.isNull p.Data "data"
                Expect.isNull p.DataLabels "data labels"
                Expect.isNull p.Scale "scale"
                Expect.equal p.Index 0 "index"
                Expect.equal p.Threads 0 "threads"
            }
            test "bench defaults" {
                let b = bench "bench"
                Expect.isNull b.Train "train"
                Expect.isNull b.TrainLabels "train labels"
                Expect.isNull b.Test "test"
                Expect.isNull b.TestLabels "test labels"
                Expect.isFalse b.Json "json"
                Expect.equal b.Threads 0 "threads"
                Expect.equal b.Seconds 2.0 "seconds"
            }
        ]

let private roundTripTests =
    testList
        "round trip"
        [
            test "train, every option" {
                let t =
                    train (
                        "train --train a.idx --train-labels b.idx --test c.idx --test-labels d.idx --scale seed"
                        + " --layers 784,100,30,10 --activation tanh --output sigmoid --loss mse --init xavier"
                        + " --no-bias --optimizer momentum --lr 0.25 --l2 0.0001 --momentum 0.5 --epochs 3"
                        + " --batch 64 --seed 42 --precision float64 --reduction sum --run runs/x --threads 4 --quiet"
                        + " --checkpoint-every 7 --journal-every 3"
                    )

                let expected =
                    {
                        Data =
                            {
                                Train = "a.idx"
                                TrainLabels = "b.idx"
                                Test = "c.idx"
                                TestLabels = "d.idx"
                                Scale = "seed"
                            }
                        Network =
                            {
                                Layers = [| 784; 100; 30; 10 |]
                                Activation = "tanh"
                                Output = "sigmoid"
                                Loss = "mse"
                                Init = "xavier"
                                Bias = false
                            }
                        Optimizer = "momentum"
                        Lr = 0.25
                        L2 = 0.0001
                        Momentum = 0.5
                        Epochs = 3
                        Batch = 64
                        Seed = 42
                        Precision = "float64"
                        Reduction = "sum"
                        Run = "runs/x"
                        CheckpointEvery = 7
                        JournalEvery = 3
                        Threads = 4
                        Quiet = true
                        Preset = "modern"
                        TrainCount = 0
                    }

                Expect.equal t expected "train options"
            }
            test "remaining enumeration values" {
                Expect.equal (train "train --activation sigmoid").Network.Activation "sigmoid" "sigmoid"
                Expect.equal (train "train --activation relu").Network.Activation "relu" "relu"
                Expect.equal (train "train --output softmax").Network.Output "softmax" "softmax"
                Expect.equal (train "train --loss ce").Network.Loss "ce" "ce"
                Expect.equal (train "train --init normal-fanin").Network.Init "normal-fanin" "normal-fanin"
                Expect.equal (train "train --init he").Network.Init "he" "he"
                Expect.equal (train "train --optimizer sgd").Optimizer "sgd" "sgd"
                Expect.equal (train "train --scale unit").Data.Scale "unit" "unit"
                Expect.equal (train "train --precision float32").Precision "float32" "float32"
                Expect.equal (train "train --reduction mean").Reduction "mean" "mean"
            }
            test "--loss cross-entropy is ce" {
                Expect.equal (train "train --loss cross-entropy").Network.Loss "ce" "cross-entropy"
            }
            test "--batch full is 0" { Expect.equal (train "train --batch full").Batch 0 "full" }
            test "--batch 1" { Expect.equal (train "train --batch 1").Batch 1 "online" }
            test "--l2 0 and --momentum 0 are allowed" {
                let t = train "train --l2 0 --momentum 0"
                Expect.equal (t.L2, t.Momentum) (0.0, 0.0) "zeros"
            }
            test "eval, every option" {
                let e =
                    eval
                        "eval --model runs/a --data x.idx --data-labels y.idx --scale seed --seed 7 --threads 2 --png cm.png"

                let expected =
                    {
                        EvalOptions.Model = "runs/a"
                        Data = "x.idx"
                        DataLabels = "y.idx"
                        Scale = "seed"
                        Seed = 7
                        Threads = 2
                        Png = "cm.png"
                    }

                Expect.equal e expected "eval options"
            }
            test "predict, every option" {
                let p =
                    predict "predict --model m.bin --data x.idx --data-labels y.idx --scale unit --index 9 --threads 3"

                let expected =
                    {
                        PredictOptions.Model = "m.bin"
                        Data = "x.idx"
                        DataLabels = "y.idx"
                        Scale = "unit"
                        Index = 9
                        Threads = 3
                    }

                Expect.equal p expected "predict options"
            }
            test "bench, every option" {
                let b =
                    bench "bench --train a --train-labels b --test c --test-labels d --json --threads 8 --seconds 0.5"

                let expected =
                    {
                        BenchOptions.Train = "a"
                        TrainLabels = "b"
                        Test = "c"
                        TestLabels = "d"
                        Json = true
                        Threads = 8
                        Seconds = 0.5
                    }

                Expect.equal b expected "bench options"
            }
            test "CommandLine.Parse is Parser.parse" {
                let argv = [| "train"; "--epochs"; "2" |]
                Expect.equal (CommandLine.Parse argv) (Parser.parse argv) "same result"
            }
        ]

let private invalidTests =
    testList
        "invalid"
        [
            rejects "train --activation swish" "--activation"
            test "unknown enumeration value lists the allowed values" {
                let message = invalid "train --activation swish"
                contains message "sigmoid|tanh|relu"
                contains message "functional train --help"
            }
            rejects "train --output relu" "--output"
            rejects "train --loss hinge" "--loss"
            rejects "train --init zero" "--init"
            rejects "train --optimizer rmsprop" "--optimizer"
            rejects "train --precision float16" "--precision"
            rejects "train --reduction max" "--reduction"
            rejects "train --scale byte" "--scale"
            rejects "train --batch -3" "--batch"
            rejects "train --batch some" "--batch"
            rejects "train --layers 784" "--layers"
            rejects "train --layers 784,0,10" "--layers"
            rejects "train --layers 784,,10" "--layers"
            rejects "train --layers 784,abc" "--layers"
            rejects "train --lr 0" "--lr"
            rejects "train --lr -0.1" "--lr"
            rejects "train --lr abc" "--lr"
            rejects "train --lr" "--lr"
            rejects "train --epochs 0" "--epochs"
            rejects "train --l2 -1" "--l2"
            rejects "train --momentum 1" "--momentum"
            rejects "train --momentum -0.1" "--momentum"
            rejects "train --threads -1" "--threads"
            rejects "train --epochs 2 --epochs 3" "--epochs"
            rejects "train --bogus" "--bogus"
            rejects "train stray" "stray"
            rejects "eval --data x.idx" "--model"
            rejects "eval --model m --threads -1" "--threads"
            rejects "eval --model m --scale byte" "--scale"
            rejects "predict --model m --index -1" "--index"
            rejects "predict" "--model"
            rejects "bench --seconds 0" "--seconds"
            rejects "bench --threads -2" "--threads"
            rejects "bench --bogus" "--bogus"
            rejects "--bogus" "--bogus"
            test "unknown command" {
                let message = invalid "frobnicate --lr 1"
                contains message "frobnicate"
                contains message "Run 'functional --help' for usage."
            }
            test "the hint names the command" {
                contains (invalid "eval") "Run 'functional eval --help' for usage."
                contains (invalid "predict --model m --index x") "Run 'functional predict --help' for usage."
                contains (invalid "bench --json 1") "Run 'functional bench --help' for usage."
            }
            test "the message is short, without the usage text" {
                let message = invalid "eval"
                Expect.isFalse (message.Contains "USAGE") "no usage"
                Expect.isFalse (message.Contains "OPTIONS") "no options list"
                Expect.isFalse (message.Contains "ERROR") "no ERROR prefix"
                Expect.isLessThanOrEqual (message.Split('\n').Length) 4 "a few lines"
            }
        ]

let private helpTests =
    let optionsOf =
        [
            "train",
            [
                "--train"
                "--train-labels"
                "--test"
                "--test-labels"
                "--scale"
                "--layers"
                "--activation"
                "--output"
                "--loss"
                "--init"
                "--no-bias"
                "--optimizer"
                "--lr"
                "--l2"
                "--momentum"
                "--epochs"
                "--batch"
                "--seed"
                "--precision"
                "--reduction"
                "--run"
                "--threads"
                "--quiet"
            ]
            "eval", [ "--model"; "--data"; "--data-labels"; "--scale"; "--seed"; "--threads" ]
            "predict", [ "--model"; "--data"; "--data-labels"; "--scale"; "--index"; "--threads" ]
            "bench",
            [
                "--train"
                "--train-labels"
                "--test"
                "--test-labels"
                "--json"
                "--threads"
                "--seconds"
            ]
        ]

    testList
        "help"
        [
            for command, options in optionsOf do
                for flag in [ "--help"; "-h" ] do
                    test $"%s{command} %s{flag}" {
                        let text = help $"%s{command} %s{flag}"
                        contains text $"functional %s{command}"

                        for option in options do
                            contains text option
                    }
            test "enumerated values are listed" {
                let text = help "train --help"
                contains text "sigmoid|tanh|relu"
                contains text "normal-fanin|normal-fanout|xavier|he"
                contains text "sgd|momentum|adam"
                contains text "float32|float64"
            }
            test "help even without the required --model" { help "eval --help" |> ignore }
            for line in [ ""; "--help"; "-h" ] do
                test $"top level '%s{line}' lists the commands" {
                    let text = help line
                    contains text "functional"

                    for command in [ "train"; "eval"; "predict"; "bench" ] do
                        contains text command
                }
        ]

let private doctor line =
    match parse line with
    | Run(Command.Doctor d) -> d
    | other -> failtestf "expected a doctor command from '%s', got %A" line other

let private gradcheck line =
    match parse line with
    | Run(Command.Gradcheck g) -> g
    | other -> failtestf "expected a gradcheck command from '%s', got %A" line other

/// The options a preset gives, as train would see them with nothing else on the command line.
let private expectPreset (t: TrainOptions) (p: Presets.Preset) =
    Expect.equal t.Preset p.Name "preset"
    Expect.equal t.Network.Layers p.Layers "layers"
    Expect.equal t.Network.Activation p.Activation "activation"
    Expect.equal t.Network.Output p.Output "output"
    Expect.equal t.Network.Loss p.Loss "loss"
    Expect.equal t.Network.Init p.Init "init"
    Expect.equal t.Network.Bias p.Bias "bias"
    Expect.equal t.Data.Scale p.Scale "scale"
    Expect.equal t.Optimizer p.Optimizer "optimizer"
    Expect.equal t.Lr p.Lr "lr"
    Expect.equal t.L2 p.L2 "l2"
    Expect.equal t.Momentum p.Momentum "momentum"
    Expect.equal t.Epochs p.Epochs "epochs"
    Expect.equal t.Batch p.Batch "batch"
    Expect.equal t.Seed p.Seed "seed"
    Expect.equal t.Precision p.Precision "precision"
    Expect.equal t.Reduction p.Reduction "reduction"
    Expect.equal t.TrainCount p.TrainCount "train count"

let private presetTests =
    testList
        "presets"
        [
            test "modern is train's defaults" { expectPreset (train "train") Presets.modern }
            test "--preset modern changes nothing" {
                Expect.equal (train "train --preset modern") (train "train") "same"
            }
            for p in Presets.all do
                test $"--preset %s{p.Name}" { expectPreset (train $"train --preset %s{p.Name}") p }
            test "seed is the original question, exactly" {
                let t = train "train --preset seed"
                Expect.equal t.Network.Layers [| 784; 200; 10 |] "784-200-10"
                Expect.equal (t.Network.Activation, t.Network.Output) ("sigmoid", "sigmoid") "sigmoid hidden and output"
                Expect.equal t.Network.Loss "mse" "MSE"
                Expect.isFalse t.Network.Bias "no biases"
                Expect.equal t.Network.Init "normal-fanout" "W ~ N(0, n_out^-½)"
                Expect.equal t.Data.Scale "offset" "x/255·0.99+0.1"
                Expect.equal (t.Optimizer, t.Lr, t.L2) ("sgd", 0.4, 0.0) "SGD lr 0.4, no L2"
                Expect.equal (t.Batch, t.TrainCount, t.Epochs) (0, 100, 100) "full batch of 100, 100 iterations"
                Expect.equal t.Reduction "sum" "summed, not averaged"
            }
            test "book is the README's book command" {
                let t = train "train --preset book"

                let command =
                    train (
                        "train --layers 784,200,10 --activation sigmoid --output sigmoid --loss mse --init normal-fanin"
                        + " --scale seed --optimizer sgd --lr 0.1 --batch 1 --epochs 5"
                    )

                Expect.equal t { command with Preset = "book" } "same options"
            }
            test "explicit options override the preset" {
                let t =
                    train
                        "train --preset seed --reduction mean --batch 1 --scale seed --lr 1 --train-count 0 --epochs 3"

                Expect.equal (t.Reduction, t.Batch, t.Data.Scale, t.Lr) ("mean", 1, "seed", 1.0) "overridden"
                Expect.equal (t.TrainCount, t.Epochs) (0, 3) "overridden"
                Expect.equal (t.Network.Init, t.Network.Bias) ("normal-fanout", false) "the rest is the preset's"
            }
            test "another optimizer than the preset's brings its own default rate" {
                Expect.equal (train "train --preset seed --optimizer adam").Lr 0.001 "adam"
                Expect.equal (train "train --preset seed --optimizer sgd").Lr 0.4 "the preset's own"
                Expect.equal (train "train --preset book --optimizer momentum").Lr 0.1 "momentum"
            }
            test "--train-count and the new values" {
                Expect.equal (train "train --train-count 100").TrainCount 100 "count"
                Expect.equal (train "train --init normal-fanout").Network.Init "normal-fanout" "init"
                Expect.equal (train "train --scale offset").Data.Scale "offset" "scale"
            }
            test "Argv.Train parses back to the same options" {
                for line in
                    [
                        "train"
                        "train --preset seed"
                        "train --preset seed --reduction mean --batch 1 --scale seed --lr 1 --init normal-fanin"
                        "train --preset book --optimizer adam --epochs 2 --seed 4 --precision float64 --run runs/x"
                        "train --train a.csv --test b.idx --test-labels c.idx --layers 784,30,10 --no-bias --l2 0"
                        "train --momentum 0.5 --optimizer momentum --batch full --threads 2 --quiet --train-count 7"
                    ] do
                    let o = train line

                    let again =
                        train (System.String.Join(" ", Array.append [| "train" |] (Argv.Train o)))

                    Expect.equal again o line
            }
            test "Argv.Train is short: the preset and what differs from it" {
                let o = train "train --preset seed --reduction mean --lr 0.4"
                Expect.equal (Argv.Train o) [| "--preset"; "seed"; "--reduction"; "mean" |] "argv"
                Expect.isEmpty (Argv.Train(train "train")) "the defaults need no options"
            }
        ]

let private doctorCliTests =
    testList
        "doctor and gradcheck"
        [
            test "doctor takes train's options" {
                let d = doctor "doctor --preset seed --lr 0.1 --test t.idx --json"
                Expect.isTrue d.Json "json"
                Expect.equal d.Train (train "train --preset seed --lr 0.1 --test t.idx") "train's options"
                Expect.isFalse (doctor "doctor").Json "no json"
                Expect.equal (doctor "doctor").Train (train "train") "defaults"
            }
            test "gradcheck: network options, --examples, --params" {
                let g = gradcheck "gradcheck --preset seed --examples 4 --params 30 --json"
                Expect.equal (g.Examples, g.Params, g.Json) (4, 30, true) "own options"
                Expect.equal g.Train (train "train --preset seed") "the network of train's options"
                let d = gradcheck "gradcheck"
                Expect.equal (d.Examples, d.Params, d.Json) (10, 200, false) "defaults"
            }
            rejects "doctor --train-count -1" "--train-count"
            rejects "doctor --epochs 0" "--epochs"
            rejects "doctor --preset ancient" "--preset"
            rejects "doctor --run x" "--run"
            rejects "gradcheck --examples 0" "--examples"
            rejects "gradcheck --params 0" "--params"
            rejects "gradcheck --optimizer adam" "--optimizer"
            rejects "train --train-count -5" "--train-count"
            test "help lists every option" {
                for command, options in
                    [
                        "doctor",
                        [
                            "--preset"
                            "--train-count"
                            "--json"
                            "--lr"
                            "--batch"
                            "--reduction"
                            "--test"
                        ]
                        "gradcheck", [ "--preset"; "--examples"; "--params"; "--json"; "--layers"; "--reduction" ]
                    ] do
                    let text = help $"%s{command} --help"
                    contains text $"functional %s{command}"

                    for option in options do
                        contains text option

                let top = help "--help"
                contains top "doctor"
                contains top "gradcheck"
            }
        ]

let private resumeReplay =
    let parse (line: string) = Parser.parse (line.Split(' '))

    testList
        "resume and replay"
        [
            test "resume RUN [--epochs N]" {
                match parse "resume runs/a --epochs 9 --threads 1" with
                | Run(Resume r) ->
                    Expect.equal
                        r
                        {
                            Run = "runs/a"
                            Epochs = 9
                            Threads = 1
                            Quiet = false
                        }
                        "resume"
                | other -> failtestf "%A" other
            }
            test "replay RUN --step N with its inspections" {
                match parse "replay runs/a --step 120 --precision float64 --gradcheck --params 7 --dump d" with
                | Run(Replay r) ->
                    Expect.equal
                        r
                        {
                            Run = "runs/a"
                            Step = 120L
                            Precision = "float64"
                            Gradcheck = true
                            Params = 7
                            Dump = "d"
                            Threads = 0
                        }
                        "replay"
                | other -> failtestf "%A" other
            }
            test "replay needs --step >= 1 and a run folder" {
                match parse "replay runs/a --step 0" with
                | Invalid m -> Expect.stringContains m "--step" "names --step"
                | other -> failtestf "%A" other

                match parse "replay --step 3" with
                | Invalid _ -> ()
                | other -> failtestf "%A" other
            }
            test "train rejects --journal-every -1" {
                match parse "train --journal-every -1" with
                | Invalid m -> Expect.stringContains m "--journal-every" "names it"
                | other -> failtestf "%A" other
            }
        ]

let private pictureTests =
    testList
        "plot and show"
        [
            test "plot takes the run folder" {
                match parse "plot runs/a" with
                | Run(Command.Plot p) -> Expect.equal p { Run = "runs/a"; Out = null } "plot options"
                | other -> failtestf "expected plot, got %A" other
            }
            test "plot --out" {
                match parse "plot runs/a --out c.png" with
                | Run(Command.Plot p) -> Expect.equal p.Out "c.png" "out"
                | other -> failtestf "expected plot, got %A" other
            }
            test "plot needs a run folder" { contains (invalid "plot") "--help' for usage." }
            test "show defaults" {
                match parse "show" with
                | Run(Command.Show s) ->
                    Expect.equal
                        s
                        {
                            Data = null
                            DataLabels = null
                            Count = 25
                            Start = 0
                            Model = null
                            Scale = null
                            Out = "digits.png"
                            Threads = 0
                        }
                        "show defaults"
                | other -> failtestf "expected show, got %A" other
            }
            test "show, every option" {
                match
                    parse
                        "show --data x.csv --data-labels y.idx --count 9 --start 3 --model runs/a --scale seed --out g.png --threads 1"
                with
                | Run(Command.Show s) ->
                    Expect.equal
                        s
                        {
                            Data = "x.csv"
                            DataLabels = "y.idx"
                            Count = 9
                            Start = 3
                            Model = "runs/a"
                            Scale = "seed"
                            Out = "g.png"
                            Threads = 1
                        }
                        "show options"
                | other -> failtestf "expected show, got %A" other
            }
            rejects "show --count 0" "--count"
            rejects "show --count 401" "--count"
            rejects "show --start -1" "--start"
            test "help lists the picture commands" {
                let text = help "--help"
                contains text "plot"
                contains text "show"
                contains (help "show --help") "--model"
                contains (help "eval --help") "--png"
            }
        ]

[<Tests>]
let tests =
    testList
        "Cli"
        [
            defaultTests
            roundTripTests
            invalidTests
            helpTests
            presetTests
            doctorCliTests
            pictureTests
            resumeReplay
        ]

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
                contains text "normal-fanin|xavier|he"
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
            pictureTests
            resumeReplay
        ]

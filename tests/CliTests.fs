module Functional.Tests.CliTests

open Expecto
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Optim
open Functional.Data
open Functional.Arch
open Functional.Cli

let private parse (line: string) =
    Parser.parse (line.Split(' ', System.StringSplitOptions.RemoveEmptyEntries))

let private train line =
    match parse line with
    | Run(Command.Train t) -> t
    | other -> failtestf "expected a train command from '%s', got %A" line other

/// train with an argv as given (an --arch value holds spaces).
let private trainArgv (argv: string[]) =
    match Parser.parse (Array.append [| "train" |] argv) with
    | Run(Command.Train t) -> t
    | other -> failtestf "expected a train command from %A, got %A" argv other

let private invalidArgv (argv: string[]) =
    match Parser.parse (Array.append [| "train" |] argv) with
    | Invalid message -> message
    | other -> failtestf "expected Invalid from %A, got %A" argv other

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
            test "the network's ends come from the data unless the network is given in full" {
                let fromData (args: string) =
                    (train ("train" + args)).Data.LayersFromData

                Expect.isTrue (fromData "") "no network given: the default's hidden layers, the data's ends"
                Expect.isTrue (fromData " --layers 16") "a hidden size alone"
                Expect.isTrue (fromData " --activation tanh") "the default's sizes, another activation"
                Expect.isFalse (fromData " --layers 4,16,3") "every size given"
                Expect.isFalse (trainArgv [| "--arch"; "dense 3 softmax" |]).Data.LayersFromData "a whole network given"
            }
            test "no options" {
                let t = train "train"
                Expect.isNull t.Data.Train "train"
                Expect.isNull t.Data.TrainLabels "train labels"
                Expect.isNull t.Data.Test "test"
                Expect.isNull t.Data.TestLabels "test labels"
                let c = t.Config
                Expect.equal c.Scale Unit "scale"
                Expect.equal c.Arch (Arch.dense [| 784; 512; 10 |] Relu Softmax true) "layers, activation, output, bias"
                Expect.equal c.Loss CrossEntropy "loss"
                Expect.equal c.Init He "init"
                Expect.equal c.Optimizer (Adam(0.001, 0.9, 0.999, 1e-8)) "optimizer and lr"
                Expect.equal c.L2 1e-4 "l2"

                Expect.equal
                    (Config.fields c |> Array.find (fun (k, _) -> k = "momentum"))
                    ("momentum", "0.9")
                    "momentum"

                Expect.equal t.Epochs 30 "epochs"
                Expect.equal c.Batch 32 "batch"
                Expect.equal c.Seed 1 "seed"
                Expect.equal c.Precision Float32 "precision"
                Expect.equal c.Reduction Mean "reduction"
                // The recipe: augmentation in the config, a cosine schedule (resolved to steps by the host), and a
                // validation split with the best epoch kept.
                Expect.equal (Augment.Augment.text c.Augment) "shift:2,rotate:10,scale:0.1" "augment"
                Expect.equal t.Schedule.Kind "cosine" "schedule"
                Expect.equal (t.Validation, t.Keep, t.EarlyStop, t.TestEveryEpoch) (0.1, "best", 0, false) "validation"

                Expect.equal
                    { c with
                        Augment = Augment.Augment.none
                    }
                    Config.defaults
                    "Config.defaults, augmented"

                Expect.isNull t.Run "run"
                Expect.equal t.Threads 0 "threads"
                Expect.isFalse t.Quiet "quiet"
            }
            test "sgd and momentum default lr is 0.1" {
                Expect.equal (train "train --optimizer sgd").Config.Optimizer (Sgd 0.1) "sgd"
                Expect.equal (train "train --optimizer momentum").Config.Optimizer (Momentum(0.1, 0.9)) "momentum"
            }
            test "adam default lr is 0.001" { Expect.equal (train "train --optimizer adam").Config.Lr 0.001 "adam" }
            test "explicit lr wins over the optimizer default" {
                Expect.equal (train "train --optimizer sgd --lr 0.5").Config.Lr 0.5 "sgd"
                Expect.equal (train "train --lr 0.5").Config.Lr 0.5 "adam"
            }
            test "eval defaults" {
                let e = eval "eval --model m.bin"
                Expect.equal e.Model "m.bin" "model"
                Expect.isNull e.Data "data"
                Expect.isNull e.DataLabels "data labels"
                Expect.isNone e.Scale "scale"
                Expect.equal e.Seed 1 "seed"
                Expect.equal e.Threads 0 "threads"
            }
            test "predict defaults" {
                let p = predict "predict --model runs/a"
                Expect.equal p.Model "runs/a" "model"
                Expect.isNull p.Data "data"
                Expect.isNull p.DataLabels "data labels"
                Expect.isNone p.Scale "scale"
                Expect.isNone p.Index "every image"
                Expect.isNull p.Out "to standard output"
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
                        + " --batch 64 --seed 42 --precision float64 --reduction sum --run runs/x --threads 4 --kernels auto --quiet"
                        + " --checkpoint-every 7 --journal-every 3 --validation 0.2 --early-stop 4 --monitor accuracy"
                        + " --keep last --test-every-epoch --schedule step:3:0.5 --warmup 0.5 --augment shift:2,rotate:10"
                    )

                let expected =
                    {
                        Data =
                            {
                                Train = "a.idx"
                                TrainLabels = "b.idx"
                                Test = "c.idx"
                                TestLabels = "d.idx"
                                Header = System.Nullable()
                                LabelColumn = null
                                FeatureScale = null
                                Classes = null
                                AllowOneClass = false
                                LayersFromData = false
                                Resize = None
                            }
                        Config =
                            {
                                Arch = Arch.dense [| 784; 100; 30; 10 |] Tanh Sigmoid false
                                Loss = Mse
                                Init = Xavier
                                Optimizer = Momentum(0.25, 0.5)
                                L2 = 0.0001
                                Batch = 64
                                Seed = 42
                                Precision = Float64
                                Reduction = Sum
                                Scale = Book
                                // Resolved by the host once the training set's size is known.
                                Schedule = Schedule.Constant
                                ClipNorm = 0.0
                                Augment =
                                    { Augment.Augment.none with
                                        Shift = 2
                                        Rotate = 10.0
                                    }
                                Adversarial = None
                            }
                        Epochs = 3
                        Run = "runs/x"
                        CheckpointEvery = 7
                        JournalEvery = 3
                        Threads = 4
                        Kernels = "auto"
                        Quiet = true
                        Report = false
                        Preset = "modern"
                        TrainCount = 0
                        Validation = 0.2
                        ValidationFile = null
                        ValidationLabels = null
                        TestEveryEpoch = true
                        EarlyStop = 4
                        Monitor = "accuracy"
                        OnNonFinite = "stop"
                        Keep = "last"
                        Schedule =
                            {
                                Kind = "step"
                                Every = 3.0
                                Factor = 0.5
                                Warmup = 0.5
                            }
                        ScheduleGiven = true
                        From = null
                    }

                Expect.equal t expected "train options"
            }
            test "remaining enumeration values" {
                let parts line =
                    Arch.denseParts (train line).Config.Arch |> Option.get

                Expect.equal (parts "train --activation sigmoid") ([| 784; 512; 10 |], Sigmoid, Softmax, true) "sigmoid"
                Expect.equal (parts "train --activation relu") ([| 784; 512; 10 |], Relu, Softmax, true) "relu"
                Expect.equal (parts "train --output softmax") ([| 784; 512; 10 |], Relu, Softmax, true) "softmax"
                Expect.equal (train "train --loss ce").Config.Loss CrossEntropy "ce"
                Expect.equal (train "train --init normal-fanin").Config.Init NormalFanIn "normal-fanin"
                Expect.equal (train "train --init he").Config.Init He "he"
                Expect.equal (OptimizerSpec.name (train "train --optimizer sgd").Config.Optimizer) "sgd" "sgd"
                Expect.equal (train "train --scale unit").Config.Scale Unit "unit"
                Expect.equal (train "train --precision float32").Config.Precision Float32 "float32"
                Expect.equal (train "train --reduction mean").Config.Reduction Mean "mean"
            }
            test "--loss cross-entropy is ce" {
                Expect.equal (train "train --loss cross-entropy").Config.Loss CrossEntropy "cross-entropy"
            }
            test "--batch full is 0" { Expect.equal (train "train --batch full").Config.Batch 0 "full" }
            test "--batch 1" { Expect.equal (train "train --batch 1").Config.Batch 1 "online" }
            test "--l2 0 and --momentum 0 are allowed" {
                let t = train "train --l2 0 --momentum 0 --optimizer momentum"
                Expect.equal (t.Config.L2, t.Config.Optimizer) (0.0, Momentum(0.1, 0.0)) "zeros"
                Expect.equal (train "train --l2 0 --momentum 0").Config.L2 0.0 "with adam too"
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
                        Scale = Some Book
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
                        Images = [||]
                        Show = null
                        Data = "x.idx"
                        DataLabels = "y.idx"
                        Scale = Some Unit
                        Index = Some 9
                        Out = null
                        Threads = 3
                    }

                Expect.equal p expected "predict options"
                let bulk = predict "predict --model m.bin --out p.csv"
                Expect.equal bulk.Out "p.csv" "--out"
                let pictures = predict "predict --model m.bin --image a.png b.jpg --show s.png"
                Expect.equal pictures.Images [| "a.png"; "b.jpg" |] "--image takes several files"
                Expect.equal pictures.Show "s.png" "--show"
            }
            test "bench, every option" {
                let b =
                    bench
                        "bench --train a --train-labels b --test c --test-labels d --json --threads 8 --kernels SkylakeX --seconds 0.5 --network lenet5 --preset robust-cnn --profile"

                let expected =
                    {
                        BenchOptions.Train = "a"
                        TrainLabels = "b"
                        Test = "c"
                        TestLabels = "d"
                        Json = true
                        Threads = 8
                        Kernels = "SkylakeX"
                        Seconds = 0.5
                        Network = "lenet5"
                        Preset = "robust-cnn"
                        Profile = true
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
            rejects "train --adversarial trades:0.3:10 --adversarial-weight 0.3" "--adversarial-weight"
            rejects "train --adversarial trades:0.3:10:0" "--adversarial"
            test "train --adversarial trades:EPS:STEPS[:BETA]: TRADES, its beta in the step's loss" {
                let c = (train "train --adversarial trades:0.3:10").Config
                Expect.equal (c.Adversarial |> Option.map (fun a -> a.Trades)) (Some 6.0) "the default beta"
                Expect.equal c.Hyper.Trades 6.0 "the step adds beta·KL"
                Expect.equal (train "train --adversarial trades:0.3:10:2").Config.Hyper.Trades 2.0 "a given beta"
                Expect.equal (train "train --adversarial pgd:0.3:10").Config.Hyper.Trades 0.0 "PGD training has none"
            }
            rejects "train --init zero" "--init"
            rejects "train --optimizer rmsprop" "--optimizer"
            rejects "train --precision float16" "--precision"
            rejects "train --reduction max" "--reduction"
            rejects "train --scale byte" "--scale"
            rejects "train --batch -3" "--batch"
            rejects "train --batch some" "--batch"
            rejects "train --layers 0" "--layers"
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
                    // Bare `functional` lists them too, as a usage error (exit 2): nothing was asked.
                    let text =
                        match line, parse line with
                        | "", NoCommand text -> text
                        | "", other -> failtestf "expected the command list as a usage error, got %A" other
                        | _ -> help line

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
    Expect.equal t.Config.Arch p.Config.Arch "architecture"
    Expect.equal t.Config p.Config "the whole configuration"
    Expect.equal t.Epochs p.Epochs "epochs"
    Expect.equal t.TrainCount p.TrainCount "train count"

let private allPresets = Presets.names |> List.map Presets.find

let private presetTests =
    testList
        "presets"
        [
            test "modern is train's defaults" { expectPreset (train "train") Presets.modern }
            test "--preset modern changes nothing" {
                Expect.equal (train "train --preset modern") (train "train") "same"
            }
            for p in allPresets do
                test $"--preset %s{p.Name}" { expectPreset (train $"train --preset %s{p.Name}") p }
            test "seed is the original question, exactly" {
                let t = train "train --preset seed"
                let c = t.Config
                let sizes, hidden, output, bias = Arch.denseParts c.Arch |> Option.get
                Expect.equal sizes [| 784; 200; 10 |] "784-200-10"
                Expect.equal (hidden, output) (Sigmoid, Sigmoid) "sigmoid hidden and output"
                Expect.equal c.Loss Mse "MSE"
                Expect.isFalse bias "no biases"
                Expect.equal c.Init NormalFanOut "W ~ N(0, n_out^-½)"
                Expect.equal c.Scale Offset "x/255·0.99+0.1"
                Expect.equal (c.Optimizer, c.L2) (Sgd 0.4, 0.0) "SGD lr 0.4, no L2"
                Expect.equal (c.Batch, t.TrainCount, t.Epochs) (0, 100, 100) "full batch of 100, 100 iterations"
                Expect.equal c.Reduction Sum "summed, not averaged"
                Expect.equal c.Precision Float64 "float64, like its numpy code"
            }
            test "book is the README's book command" {
                let t = train "train --preset book"

                let command =
                    train (
                        "train --layers 784,200,10 --activation sigmoid --output sigmoid --loss mse --init normal-fanin"
                        + " --scale seed --optimizer sgd --lr 0.1 --batch 1 --epochs 5"
                        + " --l2 0 --validation 0 --schedule constant --augment none"
                    )

                // The command spells out --schedule, which the preset only implies, and the network's ends, which
                // the preset leaves to the data (a table's features and classes; 784 and 10 on MNIST).
                Expect.equal
                    t
                    { command with
                        Preset = "book"
                        ScheduleGiven = false
                        Data =
                            { command.Data with
                                LayersFromData = true
                            }
                    }
                    "same options"
            }
            test "explicit options override the preset" {
                let t =
                    train
                        "train --preset seed --reduction mean --batch 1 --scale seed --lr 1 --train-count 0 --epochs 3"

                let c = t.Config
                Expect.equal (c.Reduction, c.Batch, c.Scale, c.Lr) (Mean, 1, Book, 1.0) "overridden"
                Expect.equal (t.TrainCount, t.Epochs) (0, 3) "overridden"
                Expect.equal (c.Init, c.Arch) (NormalFanOut, Presets.seed.Config.Arch) "the rest is the preset's"
            }
            test "another optimizer than the preset's brings its own default rate" {
                Expect.equal (train "train --preset seed --optimizer adam").Config.Lr 0.001 "adam"
                Expect.equal (train "train --preset seed --optimizer sgd").Config.Lr 0.4 "the preset's own"
                Expect.equal (train "train --preset book --optimizer momentum").Config.Lr 0.1 "momentum"
            }
            test "--train-count and the new values" {
                Expect.equal (train "train --train-count 100").TrainCount 100 "count"
                Expect.equal (train "train --init normal-fanout").Config.Init NormalFanOut "init"
                Expect.equal (train "train --scale offset").Config.Scale Offset "scale"
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
                        "train --preset modern --seed 3 --batch 1"
                        "train --preset book --seed 9 --l2 0.001 --activation tanh"
                        "train --preset seed --seed 2 --no-bias --output softmax --loss ce"
                        "train --preset lenet5 --seed 2"
                        "train --preset cnn --batch 8 --epochs 1"
                        "train --adversarial pgd:0.3:7 --adversarial-weight 0.25"
                        "train --adversarial trades:0.3:10:3"
                        "train --preset robust-cnn --adversarial trades:0.3:7"
                    ] do
                    let o = train line

                    let again =
                        train (System.String.Join(" ", Array.append [| "train" |] (Argv.Train o)))

                    Expect.equal again o line
            }
            test "Argv.Train parses back to the same options for --arch networks" {
                for argv in
                    [
                        [| "--arch"; "dense 30 tanh, dense 10 softmax" |]
                        [| "--arch"; "flatten, dense 64 relu, dense 10 softmax"; "--lr"; "0.01" |]
                        [|
                            "--arch"
                            "input 784, dense 20 relu, dense 10 sigmoid"
                            "--loss"
                            "mse"
                            "--preset"
                            "book"
                        |]
                        [|
                            "--preset"
                            "seed"
                            "--arch"
                            "dense 50 sigmoid, dense 30 tanh, dense 10 sigmoid"
                        |]
                        [|
                            "--arch"
                            "dense 30 relu, dense 20 relu no-bias, dense 10 softmax"
                            "--seed"
                            "5"
                        |]
                        [| "--arch"; "input 1x28x28, flatten, dense 10 softmax"; "--preset"; "modern" |]
                    ] do
                    let o = trainArgv argv
                    let back = Argv.Train o
                    Expect.equal (trainArgv back) o (System.String.Join(" ", argv))
            }
            test "Argv.Train is short: the preset and what differs from it" {
                let o = train "train --preset seed --reduction mean --lr 0.4"
                Expect.equal (Argv.Train o) [| "--preset"; "seed"; "--reduction"; "mean" |] "argv"
                Expect.isEmpty (Argv.Train(train "train")) "the defaults need no options"
            }
        ]

let private archTests =
    testList
        "--arch"
        [
            test "--arch parses into the architecture" {
                let t = trainArgv [| "--arch"; "dense 30 tanh, dense 10 softmax" |]

                Expect.equal
                    t.Config.Arch
                    (Arch.dense [| 784; 30; 10 |] Tanh Softmax true)
                    "a dense network on 784 inputs"

                let f = trainArgv [| "--arch"; "flatten, dense 64 relu no-bias, dense 10 softmax" |]
                Expect.equal f.Config.Arch.Input [| 784 |] "flatten takes either shape: the flat one"
                Expect.equal (Arch.layersText f.Config.Arch) "flatten, dense 64 relu no-bias, dense 10 softmax" "layers"

                let i = trainArgv [| "--arch"; "input 16, dense 3 sigmoid" |]
                Expect.equal i.Config.Arch.Input [| 16 |] "an explicit input"

                let rest =
                    trainArgv [| "--arch"; "dense 30 tanh, dense 10 softmax"; "--preset"; "seed" |]

                Expect.equal
                    { rest.Config with
                        Arch = Presets.seed.Config.Arch
                    }
                    Presets.seed.Config
                    "the preset's other maths"
            }

            for argv, fragment in
                [
                    [| "--arch"; "dense 30 swish, dense 10 softmax" |], "swish"
                    [| "--arch"; "conv2 6, dense 10 softmax" |], "conv2"
                    [| "--arch"; "input 1x28x28, dense 120 relu, dense 10 softmax" |], "flatten"
                    [| "--arch"; "dense 30 relu, dense 10 relu" |], "softmax or sigmoid"
                    [| "--arch"; "dense 30 softmax, dense 10 softmax" |], "hidden"
                    [| "--arch"; "dense 30 relu,, dense 10 softmax" |], "empty"
                    [| "--arch"; "input 0, dense 10 softmax" |], "input"
                ] do
                test $"--arch '%s{argv[1]}' is refused in one line naming --arch" {
                    let message = invalidArgv argv
                    let lines = message.Split('\n')
                    Expect.equal lines.Length 2 $"the error and the hint: %s{message}"
                    contains lines[0] "--arch"
                    contains lines[0] fragment
                    contains lines[1] "--help' for usage."
                }

            for other in
                [
                    [| "--layers"; "784,30,10" |]
                    [| "--activation"; "tanh" |]
                    [| "--output"; "sigmoid" |]
                    [| "--no-bias" |]
                ] do
                test $"--arch with %s{other[0]} is refused" {
                    let message =
                        invalidArgv (Array.append [| "--arch"; "dense 30 tanh, dense 10 softmax" |] other)

                    contains message "--arch"
                    contains message other[0]
                }

            test "doctor and gradcheck take --arch" {
                match Parser.parse [| "doctor"; "--arch"; "dense 20 relu, dense 10 softmax" |] with
                | Run(Command.Doctor d) ->
                    Expect.equal d.Train.Config.Arch (Arch.dense [| 784; 20; 10 |] Relu Softmax true) "doctor"
                | other -> failtestf "%A" other

                match Parser.parse [| "gradcheck"; "--arch"; "flatten, dense 10 softmax" |] with
                | Run(Command.Gradcheck g) ->
                    Expect.equal (Arch.layersText g.Train.Config.Arch) "flatten, dense 10 softmax" "gradcheck"
                | other -> failtestf "%A" other
            }

            test "help lists --arch" { contains (help "train --help") "--arch" }
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
            rejects "report runs/a --bogus" "--bogus"
            rejects "compare runs/a --bogus" "--bogus"
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
                match
                    parse "replay runs/a --step 120 --precision float64 --gradcheck --params 7 --dump d --other-kernels"
                with
                | Run(Replay r) ->
                    Expect.equal
                        r
                        {
                            Run = "runs/a"
                            Step = 120L
                            Precision = Some Float64
                            Gradcheck = true
                            Params = 7
                            Dump = "d"
                            Threads = 0
                            OtherKernels = true
                        }
                        "replay"
                | other -> failtestf "%A" other
            }
            test "drift RUN with its options, and their bounds" {
                match
                    parse "drift runs/a --from 100 --steps 50 --every 5 --out d.png --test-count 300 --threads 1 --json"
                with
                | Run(Drift d) ->
                    Expect.equal
                        d
                        {
                            Run = "runs/a"
                            From = 100L
                            Steps = 50
                            Every = 5
                            Out = "d.png"
                            TestCount = 300
                            Threads = 1
                            OtherKernels = false
                            Json = true
                        }
                        "drift"
                | other -> failtestf "%A" other

                match parse "drift runs/a --every 0" with
                | Invalid m -> Expect.stringContains m "--every" "names the option"
                | other -> failtestf "%A" other
            }
            test "verify RUN [--json], and a run folder it needs" {
                match parse "verify runs/a --json" with
                | Run(Command.Verify v) -> Expect.equal v { Run = "runs/a"; Json = true } "verify"
                | other -> failtestf "%A" other

                match parse "verify runs/a" with
                | Run(Command.Verify v) -> Expect.isFalse v.Json "no --json"
                | other -> failtestf "%A" other

                match parse "verify" with
                | Invalid _ -> ()
                | other -> failtestf "%A" other
            }
            test "gradcheck --directional K, K >= 1; element-wise without it" {
                match parse "gradcheck --directional 3 --preset lenet5" with
                | Run(Command.Gradcheck g) ->
                    Expect.equal g.Directional 3 "directions"
                    Expect.equal g.Train.Preset "lenet5" "train's options still reach it"
                | other -> failtestf "%A" other

                match parse "gradcheck" with
                | Run(Command.Gradcheck g) -> Expect.equal g.Directional 0 "element-wise"
                | other -> failtestf "%A" other

                match parse "gradcheck --directional 0" with
                | Invalid m -> Expect.stringContains m "--directional" "names it"
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
                            Scale = None
                            Out = "digits.png"
                            Threads = 0
                            Filters = null
                            Augmented = None
                            Seed = 1
                        }
                        "show defaults"
                | other -> failtestf "expected show, got %A" other
            }
            test "show, every option" {
                match
                    parse
                        "show --data x.csv --data-labels y.idx --count 9 --start 3 --model runs/a --scale seed --out g.png --threads 1 --augmented shift:1 --seed 4"
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
                            Scale = Some Book
                            Out = "g.png"
                            Threads = 1
                            Filters = null
                            Augmented = Some { Augment.Augment.none with Shift = 1 }
                            Seed = 4
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
            archTests
            doctorCliTests
            pictureTests
            resumeReplay
        ]

/// Named configurations for train, doctor and gradcheck. A preset only changes defaults: every option given
/// on the command line overrides its value.
module Functional.Cli.Presets

/// Every value a preset sets, in the strings and numbers of the parsed options.
type Preset =
    {
        Name: string
        Layers: int[]
        Activation: string
        Output: string
        Loss: string
        Init: string
        Bias: bool
        Scale: string
        Optimizer: string
        Lr: float
        L2: float
        Momentum: float
        Epochs: int
        /// 0 = full batch.
        Batch: int
        Seed: int
        Precision: string
        Reduction: string
        /// 0 = every training image.
        TrainCount: int
    }

/// train's defaults.
let modern =
    {
        Name = "modern"
        Layers = [| 784; 512; 10 |]
        Activation = "relu"
        Output = "softmax"
        Loss = "ce"
        Init = "he"
        Bias = true
        Scale = "unit"
        Optimizer = "adam"
        Lr = 0.001
        L2 = 1e-4
        Momentum = 0.9
        Epochs = 15
        Batch = 32
        Seed = 1
        Precision = "float32"
        Reduction = "mean"
        TrainCount = 0
    }

/// The working setup of Rashid's "Make Your Own Neural Network": per-example SGD on a sigmoid/MSE
/// 784-200-10 network. Its init is normal-fanin, the rule the book states in prose (1/√(incoming links));
/// the book's code draws W_ih with hnodes^-½ (normal-fanout). On the shipped data the two differ by
/// less than half a point (92.05% fan-in, 92.45% fan-out, seed 1), and fan-in is the setup the README
/// and its end-to-end test were measured with, so the preset keeps it.
let book =
    { modern with
        Name = "book"
        Layers = [| 784; 200; 10 |]
        Activation = "sigmoid"
        Output = "sigmoid"
        Loss = "mse"
        Init = "normal-fanin"
        Scale = "seed"
        Optimizer = "sgd"
        Lr = 0.1
        Batch = 1
        Epochs = 5
    }

/// The original question, exactly: 784-200-10, sigmoid hidden and output, MSE, no biases,
/// W ~ N(0, n_out^-½), inputs x/255·0.99+0.1, targets 0.01/0.99, SGD lr 0.4 on the full batch of the
/// first 100 training images for 100 iterations, the gradient summed over the batch (its `/m` was
/// commented out), in float64 like its numpy code, without L2.
let seed =
    { modern with
        Name = "seed"
        Layers = [| 784; 200; 10 |]
        Activation = "sigmoid"
        Output = "sigmoid"
        Loss = "mse"
        Init = "normal-fanout"
        Bias = false
        Scale = "offset"
        Optimizer = "sgd"
        Lr = 0.4
        L2 = 0.0
        Epochs = 100
        Batch = 0
        Precision = "float64"
        Reduction = "sum"
        TrainCount = 100
    }

let all = [ modern; book; seed ]

/// The preset named `name` (modern, book or seed).
let find (name: string) =
    all
    |> List.tryFind (fun p -> p.Name = name)
    |> Option.defaultWith (fun () -> invalidArg (nameof name) $"unknown preset '%s{name}'")

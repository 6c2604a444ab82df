/// The allowed values of the command line's enumerated options: nullary unions, so Argu validates them and lists them
/// in the usage text; and what each stands for in the core's types.
namespace Functional.Cli

/// The allowed values of the enumerated options.
module Values =
    [<RequireQualifiedAccess>]
    type Scale =
        | Unit
        | Book
        | Offset
        /// The old name of book (x/255·0.99+0.01), still read.
        | Seed
        /// Tabular data only: values as written.
        | None
        /// Tabular data only: per-feature z-scores from the training set.
        | Standard

    [<RequireQualifiedAccess>]
    type Activation =
        | Sigmoid
        | Tanh
        | Relu

    [<RequireQualifiedAccess>]
    type Output =
        | Sigmoid
        | Softmax

    [<RequireQualifiedAccess>]
    type Loss =
        | Mse
        | Ce
        | Cross_Entropy

    [<RequireQualifiedAccess>]
    type Init =
        | Normal_Fanin
        | Normal_Fanout
        | Xavier
        | He

    [<RequireQualifiedAccess>]
    type Optimizer =
        | Sgd
        | Momentum
        | Adam

    [<RequireQualifiedAccess>]
    type Precision =
        | Float32
        | Float64

    [<RequireQualifiedAccess>]
    type Reduction =
        | Mean
        | Sum

    /// The networks `bench` times.
    [<RequireQualifiedAccess>]
    type Bench_Network =
        | Seed
        | Lenet5
        | Cnn
        | Rnn
        | Lstm
        | Rbf

    /// Which epoch's weights a run saves as its model.
    [<RequireQualifiedAccess>]
    type Keep =
        | Best
        | Last

/// What early stopping and keep-best watch on the validation set (outside Values: its case Loss would hide the
/// type Values.Loss from patterns).
module Watched =
    [<RequireQualifiedAccess>]
    type Monitor =
        | Loss
        | Accuracy
        | Robust


/// What each enumerated value stands for.
module internal ValueOf =
    open Functional
    open Functional.Activations
    open Functional.Losses
    open Functional.Init
    open Functional.Data

    let scale =
        function
        // none and standard are tables' transforms (FeatureScale): their targets are unit's 0/1.
        | Values.Scale.Unit
        | Values.Scale.None
        | Values.Scale.Standard -> Unit
        | Values.Scale.Book
        | Values.Scale.Seed -> Book
        | Values.Scale.Offset -> Offset

    /// A table's transform (--scale none, unit or standard); null for the image scalings.
    let featureScale =
        function
        | Some Values.Scale.None -> "none"
        | Some Values.Scale.Unit -> "unit"
        | Some Values.Scale.Standard -> "standard"
        | _ -> null

    let activation =
        function
        | Values.Activation.Sigmoid -> Sigmoid
        | Values.Activation.Tanh -> Tanh
        | Values.Activation.Relu -> Relu

    let output =
        function
        | Values.Output.Sigmoid -> Sigmoid
        | Values.Output.Softmax -> Softmax

    let loss =
        function
        | Values.Loss.Mse -> Mse
        | Values.Loss.Ce
        | Values.Loss.Cross_Entropy -> CrossEntropy

    let init =
        function
        | Values.Init.Normal_Fanin -> NormalFanIn
        | Values.Init.Normal_Fanout -> NormalFanOut
        | Values.Init.Xavier -> Xavier
        | Values.Init.He -> He

    let optimizerName =
        function
        | Values.Optimizer.Sgd -> "sgd"
        | Values.Optimizer.Momentum -> "momentum"
        | Values.Optimizer.Adam -> "adam"

    let precision =
        function
        | Values.Precision.Float32 -> Float32
        | Values.Precision.Float64 -> Float64

    let reduction =
        function
        | Values.Reduction.Mean -> Mean
        | Values.Reduction.Sum -> Sum

    let keep =
        function
        | Values.Keep.Best -> "best"
        | Values.Keep.Last -> "last"

    let monitor =
        function
        | Watched.Monitor.Loss -> "loss"
        | Watched.Monitor.Accuracy -> "accuracy"
        | Watched.Monitor.Robust -> "robust"

/// Argu schema of the `functional` command line: one union per command.
/// Enumerated option values are nullary unions, so Argu validates them and lists them in the usage text.
module Functional.Cli.Arguments

open Argu

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

    /// Named configurations (src/Cli/Presets.fs): explicit options override their values.
    [<RequireQualifiedAccess>]
    type Preset =
        | Modern
        | Book
        | Seed
        | Lenet5
        | Cnn
        | Robust_Mlp
        | Robust_Cnn
        | Rnn
        | Lstm
        | Rbf

/// What early stopping and keep-best watch on the validation set (outside Values: its case Loss would hide the
/// type Values.Loss from patterns).
module Watched =
    [<RequireQualifiedAccess>]
    type Monitor =
        | Loss
        | Accuracy

open Values
open Watched

/// --kernels, as train and bench explain it.
[<Literal>]
let kernelsUsage =
    "OpenBLAS's kernels: Haswell (default: every AVX2 CPU has them, so results are the same on all such machines), auto (OpenBLAS's choice for this CPU: maybe faster, not reproducible elsewhere), or SkylakeX, Cooperlake, Zen, Sandybridge...; overrides OPENBLAS_CORETYPE and is recorded in run.json."

[<Unique; HelpFlags("--help", "-h")>]
type TrainArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Test of file: string
    | Test_Labels of file: string
    | Resize of size: string
    | Scale of Scale
    | Layers of sizes: string
    | Arch of layers: string
    | Activation of Activation
    | Output of Output
    | Loss of Loss
    | Init of Init
    | No_Bias
    | Optimizer of Optimizer
    | Lr of rate: float
    | L2 of lambda: float
    | Momentum of beta: float
    | Epochs of count: int
    | Batch of size: string
    | Seed of seed: int
    | Precision of Precision
    | Reduction of Reduction
    | Run of dir: string
    | Checkpoint_Every of steps: int
    | Journal_Every of steps: int
    | Threads of count: int
    | Kernels of name: string
    | Quiet
    | Report
    | Preset of Preset
    | Train_Count of count: int
    | Validation of fraction_or_file: string
    | Validation_Labels of file: string
    | Test_Every_Epoch
    | Early_Stop of patience: int
    | Monitor of Monitor
    | Keep of Keep
    | Schedule of schedule: string
    | Warmup of epochs: float
    | Augment of distortions: string
    | Adversarial of attack: string
    | Adversarial_Weight of weight: float
    | Clip_Norm of norm: float
    | From of run_at_step: string
    | Header
    | No_Header
    | Label_Column of column: string
    | Classes of file: string
    | Allow_One_Class

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | From _ ->
                "start a new run from RUN's checkpoint at STEP (RUN@STEP; RUN alone = its newest): its weights, its optimiser state and its step count, with every setting you give changed and the others as RUN had them. Kept: the optimiser's moments when the optimiser stays sgd, momentum or adam (a new --lr, --schedule, --clip-norm, --l2, --momentum, --batch keep them); reset to zero: another --optimizer; refused: another network shape. --epochs counts from RUN's start, so it must go past STEP's epoch; the schedule stays RUN's unless --schedule/--warmup is given. run.json records parent {run, step}; replay follows it back."
            | Train _ ->
                "training data: IDX images (raw or .gz), an MNIST CSV (label,784 pixels per line), any table (CSV of numbers, raw or .gz, see --label-column), or a folder DIR/<class>/*.png|*.jpg whose subfolders name the classes; default: the shipped MNIST training set."
            | Train_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Test _ ->
                "test data, as --train (a table is read with the same table options; a folder takes the training folder's class names); default: the shipped MNIST test set."
            | Test_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Resize _ ->
                "WIDTHxHEIGHT: resample the images of image folders (grey, area-averaged) to this size, e.g. 28x28 (default: none; the images must then all have one size)."
            | Scale _ ->
                "pixel scaling: unit = x/255 (default); book = x/255·0.99+0.01 with targets 0.01/0.99 (the book's; seed is its old name); offset = x/255·0.99+0.1 (0.1..1.09, the original question's slip), targets 0.01/0.99. For tables: none = values as written (the default), unit = each feature to 0..1 by the training set's min and max, standard = each feature's z-score by the training set's mean and deviation; the model file keeps the transform for eval and predict."
            | Layers _ ->
                "comma-separated layer sizes, input to output, at least 2 (default 784,512,10), which must agree with the data; or one size alone: one hidden layer, the inputs and outputs taken from the data."
            | Arch _ ->
                "the whole network, layer by layer: \"conv 6 5x5 pad 2 relu, maxpool 2, flatten, dense 10 softmax\"; kinds: dense N [act] [no-bias], conv C KxK [stride S] [pad P] [act] [no-bias], maxpool K, flatten, dropout P, rnn H [relu] [orthogonal|identity] [sequence], lstm H [orthogonal] [sequence], rbf K [width W] [frozen-centres] [frozen-widths] (Gaussian units, centres by k-means on the training images, σ = W × the distance to the nearest other centre, W 0.5 by default); an optional leading \"input 1x28x28\" (default: the data's 1x28x28 for convolutions, 784 otherwise)."
            | Activation _ -> "hidden-layer activation (default relu)."
            | Output _ -> "output-layer activation (default softmax)."
            | Loss _ -> "loss function; cross-entropy is an alias of ce (default ce)."
            | Init _ -> "weight initialisation (default he)."
            | No_Bias -> "train without bias terms."
            | Optimizer _ -> "optimizer (default adam)."
            | Lr _ -> "learning rate > 0 (default 0.001 for adam, 0.1 for sgd and momentum)."
            | L2 _ ->
                "L2 regularisation strength >= 0 (default 0.0001): adds ½λ‖W‖² to the loss, λW to weight gradients."
            | Momentum _ -> "momentum coefficient in [0, 1) (default 0.9)."
            | Epochs _ -> "number of epochs >= 1 (default 30)."
            | Batch _ -> "mini-batch size: a positive integer, or 'full' for full batch (default 32)."
            | Seed _ -> "random seed (default 1)."
            | Precision _ -> "floating-point precision (default float32)."
            | Reduction _ -> "how the loss is reduced over a batch (default mean)."
            | Run _ ->
                "run folder for run.json, journal.jsonl, checkpoints/ and model.safetensors (default runs/<timestamp>)."
            | Checkpoint_Every _ ->
                "also write a checkpoint every N steps, >= 0 (default 0: only at each epoch's end and at the end)."
            | Journal_Every _ ->
                "journal one line (loss, gradient norms, update ratios, weights hash) every N steps (default: 1,000 below batch 32, else 100)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Kernels _ -> kernelsUsage
            | Quiet ->
                "print only the result: the model, predicted-classes, plot and test accuracy lines (and any warning); no header, epoch lines or progress bar."
            | Report ->
                "rewrite RUN/report.html after every epoch (the page reloads itself, so a browser tab follows the run), and the full report at the end."
            | Preset _ ->
                "start from a named configuration, explicit options override it: modern = these defaults (the recipe measured in the README: 30 epochs, cosine schedule, augment shift:2,rotate:10,scale:0.1); book = the working setup of Rashid's Make Your Own Neural Network (784-200-10 sigmoid, MSE, normal-fanin, x/255·0.99+0.01, SGD 0.1, batch 1, 5 epochs, no L2, no validation split); seed = the original question's network exactly (784-200-10 sigmoid, no biases, MSE summed over the full batch of 100 images, inputs 0.1..1.09, SGD 0.4, 100 iterations, float64); lenet5 = LeNet-5 (LeCun et al. 1998, ReLU and max-pooling, dropout 0.3, L2 5e-4, 20 epochs); cnn = the CNN of PyTorch's MNIST example (two 3x3 convolutions, pooling, dense 128, its dropout, batch 64); rnn = an Elman RNN of 128 reading the image row by row (orthogonal, --clip-norm 1, 20 epochs); lstm = an LSTM of 128 reading rows (orthogonal, Adam 2e-3, --clip-norm 1, 20 epochs); rbf = 1,000 Gaussian RBF units from k-means, trained end to end with a softmax readout (Adam 1e-2, no L2, 30 epochs, cosine); robust-mlp = the 784-512-10 MLP trained against FGSM at ε 0.1 from a random start (30 epochs, cosine, no augmentation); robust-cnn = the cnn trained against PGD at ε 0.3."
            | Train_Count _ -> "use only the first N training images, 0 = all (default 0)."
            | Validation _ ->
                "hold out a fraction of the training set for validation, stratified by class and chosen by the seed (default 0.1; 0 = none, as the book and seed presets), or a separate validation file (IDX or CSV, as --train)."
            | Validation_Labels _ -> "labels (IDX) for an IDX --validation file; default: beside the images."
            | Test_Every_Epoch ->
                "also print the test accuracy after every epoch. Not the default: choosing an epoch, a learning rate or a recipe by the test column tunes on the test set, and its accuracy then overstates what new data will see; choose on the validation column."
            | Early_Stop _ ->
                "stop when the validation figure (--monitor) has not improved for N epochs (default 0: train every epoch)."
            | Monitor _ -> "the validation figure early stopping and --keep best watch: loss (default) or accuracy."
            | Keep _ ->
                "which epoch's weights model.safetensors holds: best = the best validation epoch (default when there is a validation set), last = the final epoch."
            | Schedule _ ->
                "learning-rate schedule over the run: constant, cosine[:FLOOR] (down to FLOOR·lr at the end; the default), step:EPOCHS[:FACTOR] (×FACTOR, default 0.1, every EPOCHS), onecycle (up to lr over 30%, then down)."
            | Warmup _ -> "epochs of linear learning-rate warm-up before the schedule (fractions allowed; default 0)."
            | Augment _ ->
                "distort training images, a pure function of (seed, epoch, example): none, or a list of shift:PIXELS (whole pixels), rotate:DEGREES, scale:FRACTION, elastic:ALPHA[:SIGMA] (Simard's, σ 4 by default; slow); default shift:2,rotate:10,scale:0.1 (none for the book and seed presets)."
            | Adversarial _ ->
                "adversarial training: each step trains on its batch attacked by the network as it stands: fgsm:EPS (from the clean input), fgsm:EPS:random (from a random start, step 1.25·EPS) or pgd:EPS:STEPS (random start, step 2.5·EPS/STEPS); EPS in [0, 1] units of the pixel range (default: none)."
            | Adversarial_Weight _ ->
                "the adversarial part of the loss, in [0, 1]: (1 − W)·clean + W·adversarial (default 0.5)."
            | Header ->
                "tables: the first row is a header (default: detected: a column that is text there and a number in the next row)."
            | No_Header -> "tables: the first row is data."
            | Label_Column _ ->
                "tables: the column holding the labels: first (default), last, a header name, or a 0-based index. Labels are integers 0–255 (the class) or text (class names, sorted)."
            | Classes _ ->
                "a file of class names, one per line, in class order (default: the digits, or the Fashion-MNIST names for its files, recognised by content)."
            | Allow_One_Class ->
                "train even when the training set holds a single class (refused otherwise: nothing to tell apart)."
            | Clip_Norm _ ->
                "clip the gradient's global norm (all tensors together) to at most this before each update, as PyTorch's clip_grad_norm_; 0 = off (default 0)."

[<Unique; HelpFlags("--help", "-h")>]
type EvalArgs =
    | [<Mandatory>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Scale of Scale
    | Seed of seed: int
    | Threads of count: int
    | Png of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "model file, or a run directory containing one (required)."
            | Data _ ->
                "images to evaluate on (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Scale _ -> "pixel scaling; default: the model's own."
            | Seed _ -> "seed for the random sample of predictions shown (default 1)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Png _ -> "also draw the confusion matrix as a heatmap into this PNG file."

[<Unique; HelpFlags("--help", "-h")>]
type PredictArgs =
    | [<Mandatory>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Image of files: string list
    | Show of png: string
    | Scale of Scale
    | Index of index: int
    | Out of file: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "model file, or a run directory containing one (required)."
            | Data _ ->
                "images to predict from (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Scale _ -> "pixel scaling; default: the model's own."
            | Index _ -> "predict this image alone, >= 0, with a bar per output (default: every image, as CSV)."
            | Image _ ->
                "pictures of digits (PNG, JPEG: a photo, a drawing) to predict instead of --data: each is prepared as MNIST's digits were (grey, inverted if the paper is light, cropped to the ink, fitted into 20x20, centred by centre of mass in 28x28), then its class and top-3 outputs are printed."
            | Show _ -> "with --image: write a PNG of each picture beside the 28x28 image the network saw."
            | Out _ ->
                "the CSV to write (default: standard output): index,label,predicted, then the outputs: p_0,p_1,... for softmax probabilities (they sum to 1), sigmoid_0,sigmoid_1,... for sigmoid outputs (each in 0..1; they do not sum to 1)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

[<Unique; HelpFlags("--help", "-h")>]
type BenchArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Test of file: string
    | Test_Labels of file: string
    | Json
    | Threads of count: int
    | Kernels of name: string
    | Seconds of seconds: float
    | Network of Bench_Network
    | Preset of Preset
    | Profile

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Train _ ->
                "training images (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST training set."
            | Train_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Test _ ->
                "test images (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Test_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name (…-labels-idx1-ubyte[.gz])."
            | Json -> "print the results as JSON."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Kernels _ -> kernelsUsage
            | Seconds _ -> "time budget per benchmark case in seconds, > 0 (default 2.0)."
            | Network _ -> "run only this network's cases (default: all)."
            | Preset _ -> "time this preset alone, at its own batch size (any preset, unlike --network)."
            | Profile ->
                "per layer: forward and backward time, GFLOP/s and the fraction of the roofline of its own matrix products, for the cases chosen."

[<Unique; HelpFlags("--help", "-h")>]
type DoctorArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Resize of size: string
    | Test of file: string
    | Test_Labels of file: string
    | Train_Count of count: int
    | Scale of Scale
    | Preset of Preset
    | Layers of sizes: string
    | Arch of layers: string
    | Activation of Activation
    | Output of Output
    | Loss of Loss
    | Init of Init
    | No_Bias
    | Optimizer of Optimizer
    | Lr of rate: float
    | L2 of lambda: float
    | Momentum of beta: float
    | Epochs of count: int
    | Batch of size: string
    | Seed of seed: int
    | Precision of Precision
    | Reduction of Reduction
    | Threads of count: int
    | Clip_Norm of norm: float
    | Json
    | Png of file: string
    | Adversarial of attack: string
    | Adversarial_Weight of weight: float
    | Header
    | No_Header
    | Label_Column of column: string
    | Classes of file: string
    | Allow_One_Class
    | Augment of distortions: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Augment _ ->
                "distort training images as train does (default shift:2,rotate:10,scale:0.1; none for tables)."
            | Header -> "tables: the first row is a header, as for train (default: detected)."
            | No_Header -> "tables: the first row is data."
            | Label_Column _ -> "tables: the column holding the labels, as for train (default first)."
            | Classes _ -> "a file of class names, one per line, as for train."
            | Allow_One_Class -> "check even when the training set holds a single class, as for train."
            | Adversarial _ ->
                "adversarial training, as for train (fgsm:EPS, fgsm:EPS:random, pgd:EPS:STEPS): the doctor then checks for robustness that is only apparent."
            | Adversarial_Weight _ -> "the adversarial part of the loss, as for train (default 0.5)."
            | Clip_Norm _ -> "gradient-norm clipping, as for train (default 0 = off)."
            | Png _ -> "also draw per-layer histograms of activations and weight gradients after the short run (PNG)."
            | Json -> "print the report as one JSON object."
            | Train _ -> "training images, as for train; default: the shipped MNIST training set."
            | Train_Labels _ -> "labels for IDX training images, as for train."
            | Resize _ -> "WIDTHxHEIGHT to resample image folders to, as for train."
            | Test _ -> "test images, as for train; default: the shipped MNIST test set."
            | Test_Labels _ -> "labels for IDX test images, as for train."
            | Train_Count _ -> "use only the first N training images, 0 = all (default 0)."
            | Scale _ ->
                "pixel scaling: unit, book or offset; for tables none, unit or standard; as for train (default unit)."
            | Preset _ ->
                "start from a named configuration (modern, book, seed, lenet5, cnn, rnn, lstm, rbf, robust-mlp, robust-cnn), as for train."
            | Layers _ ->
                "comma-separated layer sizes, or the hidden size alone for a table, as for train (default 784,512,10)."
            | Arch _ -> "the whole network, layer by layer, as for train."
            | Activation _ -> "hidden-layer activation (default relu)."
            | Output _ -> "output-layer activation (default softmax)."
            | Loss _ -> "loss function (default ce)."
            | Init _ -> "weight initialisation (default he)."
            | No_Bias -> "train without bias terms."
            | Optimizer _ -> "optimizer (default adam)."
            | Lr _ -> "learning rate > 0 (default 0.001 for adam, 0.1 for sgd and momentum)."
            | L2 _ -> "L2 regularisation strength >= 0 (default 0.0001)."
            | Momentum _ -> "momentum coefficient in [0, 1) (default 0.9)."
            | Epochs _ -> "number of epochs >= 1 of the run being examined (default 15)."
            | Batch _ -> "mini-batch size, or 'full' (default 32)."
            | Seed _ -> "random seed (default 1)."
            | Precision _ -> "floating-point precision of training (default float32; gradient checks use float64)."
            | Reduction _ -> "how the loss is reduced over a batch (default mean)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

[<Unique; HelpFlags("--help", "-h")>]
type Lr_FindArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Resize of size: string
    | Train_Count of count: int
    | Scale of Scale
    | Preset of Preset
    | Layers of sizes: string
    | Arch of layers: string
    | Activation of Activation
    | Output of Output
    | Loss of Loss
    | Init of Init
    | No_Bias
    | Optimizer of Optimizer
    | L2 of lambda: float
    | Momentum of beta: float
    | Batch of size: string
    | Seed of seed: int
    | Precision of Precision
    | Reduction of Reduction
    | Threads of count: int
    | From of rate: float
    | To of rate: float
    | Steps of count: int
    | Png of file: string
    | Json
    | Header
    | No_Header
    | Label_Column of column: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Header -> "tables: the first row is a header, as for train (default: detected)."
            | No_Header -> "tables: the first row is data."
            | Label_Column _ -> "tables: the column holding the labels, as for train (default first)."
            | From _ -> "the first learning rate (default 1e-7)."
            | To _ -> "the last learning rate (default 10)."
            | Steps _ -> "steps, one per rate, exponentially spaced from --from to --to (default 300)."
            | Png _ -> "the plot of loss against learning rate (default lr-find.png)."
            | Json -> "print the rates, losses and the suggestion as one JSON object."
            | Train _ -> "training images, as for train; default: the shipped MNIST training set."
            | Train_Labels _ -> "labels for IDX training images, as for train."
            | Resize _ -> "WIDTHxHEIGHT to resample image folders to, as for train."
            | Train_Count _ -> "use only the first N training images, 0 = all (default 0)."
            | Scale _ -> "pixel scaling: unit, seed or offset, as for train (default unit)."
            | Preset _ -> "start from a named configuration (modern, book, seed, lenet5, cnn), as for train."
            | Layers _ -> "comma-separated layer sizes, as for train (default 784,512,10)."
            | Arch _ -> "the whole network, layer by layer, as for train."
            | Activation _ -> "hidden-layer activation (default relu)."
            | Output _ -> "output-layer activation (default softmax)."
            | Loss _ -> "loss function (default ce)."
            | Init _ -> "weight initialisation (default he)."
            | No_Bias -> "train without bias terms."
            | Optimizer _ -> "optimizer whose rate is searched (default adam)."
            | L2 _ -> "L2 regularisation strength >= 0 (default 0.0001)."
            | Momentum _ -> "momentum coefficient in [0, 1) (default 0.9)."
            | Batch _ -> "mini-batch size, or 'full' (default 32)."
            | Seed _ -> "random seed (default 1)."
            | Precision _ -> "floating-point precision (default float32)."
            | Reduction _ -> "how the loss is reduced over a batch (default mean)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

[<Unique; HelpFlags("--help", "-h")>]
type GradcheckArgs =
    | Train of file: string
    | Train_Labels of file: string
    | Resize of size: string
    | Train_Count of count: int
    | Scale of Scale
    | Preset of Preset
    | Layers of sizes: string
    | Arch of layers: string
    | Activation of Activation
    | Output of Output
    | Loss of Loss
    | Init of Init
    | No_Bias
    | L2 of lambda: float
    | Seed of seed: int
    | Reduction of Reduction
    | Examples of count: int
    | Params of count: int
    | Json
    | Model of path: string
    | Header
    | No_Header
    | Label_Column of column: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Header -> "tables: the first row is a header, as for train (default: detected)."
            | No_Header -> "tables: the first row is data."
            | Label_Column _ -> "tables: the column holding the labels, as for train (default first)."
            | Model _ ->
                "check at a saved or imported model's weights (a model file or run folder; its architecture and scaling) instead of the configured network at initialisation."
            | Train _ -> "images the check runs on (their first N); default: the shipped MNIST training set."
            | Train_Labels _ -> "labels for IDX images, as for train."
            | Resize _ -> "WIDTHxHEIGHT to resample image folders to, as for train."
            | Train_Count _ -> "use only the first N training images, 0 = all (default 0)."
            | Scale _ -> "pixel scaling: unit, book or offset, as for train (default unit)."
            | Preset _ ->
                "start from a named configuration (modern, book, seed, lenet5, cnn, rnn, lstm, rbf, robust-mlp, robust-cnn), as for train."
            | Layers _ -> "comma-separated layer sizes, as for train (default 784,512,10)."
            | Arch _ -> "the whole network, layer by layer, as for train."
            | Activation _ -> "hidden-layer activation (default relu)."
            | Output _ -> "output-layer activation (default softmax)."
            | Loss _ -> "loss function (default ce)."
            | Init _ -> "weight initialisation (default he)."
            | No_Bias -> "a network without bias terms."
            | L2 _ -> "L2 regularisation strength >= 0, part of the loss checked (default 0.0001)."
            | Seed _ -> "seed of the initial weights and of the parameters sampled (default 1)."
            | Reduction _ -> "how the loss is reduced over the examples (default mean)."
            | Examples _ -> "examples in the batch checked, >= 1 (default 10)."
            | Params _ -> "parameters checked per layer, sampled when a layer has more, >= 1 (default 200)."
            | Json -> "print the report as one JSON object."

[<Unique; HelpFlags("--help", "-h")>]
type ResumeArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | Epochs of count: int
    | Threads of count: int
    | Quiet

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder to continue (from its newest valid checkpoint)."
            | Epochs _ -> "train until this many epochs in all, >= 1 (default: the run's own)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Quiet ->
                "print only the result: the line naming the checkpoint it continues from, then the model, predicted-classes, plot and test accuracy lines (and any warning); no epoch lines or progress bar."

[<Unique; HelpFlags("--help", "-h")>]
type ReplayArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | [<Mandatory>] Step of step: int64
    | Precision of Precision
    | Gradcheck
    | Params of count: int
    | Dump of dir: string
    | Threads of count: int
    | Other_Kernels

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Other_Kernels ->
                "replay even where this machine cannot use the OpenBLAS kernels the run recorded (then with its own; steps may differ in the last bits)."
            | Run_Dir _ -> "the run folder to replay."
            | Step _ ->
                "re-execute steps from the checkpoint before this step up to it (or to the next journaled step), >= 1."
            | Precision _ ->
                "float64: recompute step N's gradients in float64 and report each layer's drift against the run's."
            | Gradcheck -> "compare step N's analytic gradients with numeric ones (float64 central differences)."
            | Params _ -> "parameters sampled per layer by --gradcheck, >= 1 (default 20)."
            | Dump _ ->
                "write step N's batch, weights before, gradients and weights after as safetensors into this folder."
            | Threads _ -> "worker threads, 0 = auto (default: the run's own)."

[<Unique; HelpFlags("--help", "-h")>]
type DriftArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | From of step: int64
    | Steps of count: int
    | Every of steps: int
    | Out of file: string
    | Test_Count of count: int
    | Threads of count: int
    | Other_Kernels
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder (its run.json, checkpoints and data)."
            | Json -> "print the report as one JSON object (the PNG is still written)."
            | From _ -> "start from the run's state after this step, >= 0 (default 0: the initial weights)."
            | Steps _ -> "steps to train both ways, >= 1 (default: one epoch)."
            | Every _ -> "sample every this many steps, >= 1 (default 25)."
            | Out _ -> "the PNG to write (default: <run>/drift.png)."
            | Test_Count _ -> "test images on which the two models' predictions are compared, >= 1 (default: all)."
            | Threads _ -> "worker threads, 0 = auto (default: the run's own)."
            | Other_Kernels ->
                "run even where this machine cannot use the OpenBLAS kernels the run recorded (then with its own)."

[<Unique; HelpFlags("--help", "-h")>]
type PlotArgs =
    | [<MainCommand; ExactlyOnce>] Run_Dir of run: string
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Run_Dir _ -> "the run folder (holding run.json, and journal.jsonl when there is one)."
            | Out _ -> "the PNG file to write (default: <run>/curves.png)."

[<Unique; HelpFlags("--help", "-h")>]
type ShowArgs =
    | Data of file: string
    | Data_Labels of file: string
    | Count of count: int
    | Start of index: int
    | Model of path: string
    | Scale of Scale
    | Out of file: string
    | Threads of count: int
    | Filters of model: string
    | Augmented of distortions: string
    | Seed of seed: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Augmented _ ->
                "draw image --start as training would see it in --count epochs, distorted as --augment (train's syntax, e.g. shift:2,rotate:10,scale:0.1, train's default)."
            | Seed _ -> "the seed the augmented versions are drawn with, as train's --seed (default 1)."
            | Filters _ ->
                "draw the first convolution layer's filters of this model (a model file or a run directory) as a grid instead of images."
            | Data _ ->
                "images to show (IDX, raw or .gz, or CSV: label,784 pixels per line); default: the shipped MNIST test set."
            | Data_Labels _ ->
                "labels (IDX, raw or .gz) for IDX images; default: beside the images, by the standard name."
            | Count _ -> "how many images, 1 to 400 (default 25)."
            | Start _ -> "index of the first image shown, >= 0 (default 0)."
            | Model _ ->
                "also show this model's predictions (a model file or a run directory); wrong ones are framed in red."
            | Scale _ -> "pixel scaling for the model; default: the model's own."
            | Out _ -> "the PNG file to write (default digits.png)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

/// The executors of `functional sweep`.
[<RequireQualifiedAccess>]
type SweepExecutor =
    | Local
    | Slurm

/// `functional sweep`: its own options. Every other option is a train option, forwarded to each point
/// (src/Cli/Parse.fs splits them off before Argu sees this union).
[<Unique; HelpFlags("--help", "-h")>]
type SweepArgs =
    | [<MainCommand>] Spec of spec: string
    | Name of name: string
    | Dir of dir: string
    | Executor of SweepExecutor
    | Jobs of count: int
    | Threads of count: int
    | Slurm_Args of args: string
    | Task of index: int
    | Max_Points of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Spec _ ->
                "a JSON file {\"name\": ..., \"options\": {\"lr\": [0.03, 0.1], \"seed\": \"1..3\", \"preset\": \"book\"}}, or a sweep folder to run again. Any train option after it (--lr 0.03,0.1 --seed 1..3) adds or replaces an axis; a list's values become the cross product."
            | Name _ ->
                "the sweep's name, its folder under --dir (default: the spec file's name, else the swept options')."
            | Dir _ -> "the folder holding sweeps (default sweeps)."
            | Executor _ -> "where the points run: local worker processes (default) or a Slurm array job."
            | Jobs _ -> "local: points run at once, >= 1 (default: cores / threads)."
            | Threads _ ->
                "threads of each point, >= 1 (default 1); local: threads × jobs <= cores. A point's bytes do not depend on it."
            | Slurm_Args _ ->
                "extra sbatch options, as one string: --slurm-args '--partition=debug --time=10:00 --mem=2G'."
            | Task _ -> "run only point I of the sweep folder SPEC (what each Slurm array task runs)."
            | Max_Points _ ->
                "refuse a sweep of more points than this, >= 1 (default 10,000: a typo in a range should not start a million runs)."

/// `functional runs`: a table of the runs under a folder.
[<Unique; HelpFlags("--help", "-h")>]
type RunsArgs =
    | [<MainCommand>] Dir of dir: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Dir _ -> "the folder to search for run folders (run.json), recursively (default: runs and sweeps)."

/// `functional compare`: runs and sweeps side by side.
[<Unique; HelpFlags("--help", "-h")>]
type CompareArgs =
    | [<MainCommand; Mandatory>] Runs of dirs: string list
    | Png of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Runs _ -> "run folders and sweep folders (holding sweep.json) to compare."
            | Png _ -> "the PNG to draw (default: SWEEP/compare.png for one sweep, else compare.png)."

/// `functional report`: one self-contained HTML page of runs and sweeps.
[<Unique; HelpFlags("--help", "-h")>]
type ReportArgs =
    | [<MainCommand; Mandatory>] Runs of dirs: string list
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Runs _ -> "a run folder, or several run folders and sweep folders (holding sweep.json) to compare."
            | Out _ -> "the HTML file to write (default: RUN/report.html for one run or sweep, else report.html)."

/// `functional export`: a model as a file other programs run.
[<Unique; HelpFlags("--help", "-h")>]
type ExportArgs =
    | [<MainCommand; Mandatory>] Model of model: string
    | [<Mandatory>] Onnx of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "a model.safetensors, or a run folder holding one."
            | Onnx _ ->
                "the ONNX file to write (opset 17): raw pixels 0..255 in ([N,784], or [N,1,28,28] for networks on images), the model's scaling inside, class scores out."

/// `functional inspect`: what any safetensors file holds, and accepting a model's tensors changed elsewhere.
[<Unique; HelpFlags("--help", "-h")>]
type InspectArgs =
    | [<MainCommand; Mandatory>] Model of file: string
    | Rehash
    | Json

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ ->
                "any safetensors file (a model, a checkpoint, a replay dump, a foreign file), or a run folder (its model.safetensors)."
            | Rehash ->
                "accept a model's tensors as they are: write their hash into the file's metadata (after editing the weights elsewhere)."
            | Json -> "print one JSON object (metadata, and every tensor's dtype, shape and statistics) for scripts."

/// `functional import`: a PyTorch nn.Sequential state_dict as a model file.
[<Unique; HelpFlags("--help", "-h")>]
type ImportArgs =
    | [<MainCommand; Mandatory>] File of file: string
    | [<Mandatory>] Arch of description: string
    | Scale of Scale
    | Out of file: string

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | File _ ->
                "a safetensors file of an nn.Sequential's state_dict (0.weight, 0.bias, 2.weight, ...), F32 or F64."
            | Arch _ ->
                "the network, as for train: \"dense 128 relu, dense 10 softmax\"; its layers with parameters take the file's modules in order."
            | Scale _ -> "the pixel scaling the network was trained with: unit, book or offset (default unit)."
            | Out _ ->
                "the model file to write (default: FILE's name with .model.safetensors); an existing file is refused."

/// Where an attack starts.
[<RequireQualifiedAccess>]
type AttackStart =
    | Clean
    | Random

/// `functional attack`: FGSM and PGD against a saved model.
[<Unique; HelpFlags("--help", "-h")>]
type AttackArgs =
    | [<MainCommand; ExactlyOnce>] Model of path: string
    | Data of file: string
    | Data_Labels of file: string
    | Method of methods: string
    | Eps of values: string
    | Pixels
    | Steps of count: int
    | Alpha of step: float
    | Restarts of count: int
    | Start of AttackStart
    | Target of digit: int
    | Count of count: int
    | Seed of seed: int
    | Json
    | Png of file: string
    | Grid of file: string
    | Threads of count: int

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Model _ -> "the model: a model.safetensors or a run folder holding one."
            | Data _ -> "images to attack (IDX, raw or .gz, or CSV); default: the shipped MNIST test set."
            | Data_Labels _ -> "labels (IDX) for IDX images; default: beside the images."
            | Method _ -> "fgsm, pgd, or both as fgsm,pgd (default fgsm,pgd)."
            | Eps _ ->
                "the L∞ budgets, comma-separated, in [0, 1] units of the pixel range (default 0,0.05,0.1,0.2,0.3); with --pixels, in grey levels 0..255."
            | Pixels -> "read --eps and --alpha in grey levels (0..255) instead of [0, 1] units."
            | Steps _ -> "PGD's steps, >= 1 (default 40)."
            | Alpha _ -> "PGD's step, > 0, in --eps's units (default 2.5·eps/steps)."
            | Restarts _ ->
                "PGD's random restarts, >= 1; an example counts as robust only if it survives all (default 1)."
            | Start _ ->
                "where the attack starts: clean (the input) or random (uniform in the ε-ball); default: clean for FGSM, random for PGD."
            | Target _ -> "a targeted attack: push every input towards this class (default: untargeted)."
            | Count _ -> "attack only the first N images, >= 1 (default: all)."
            | Seed _ -> "seed of the random starts (default 1)."
            | Json -> "print the results as one JSON object."
            | Png _ -> "the robustness curve, accuracy against ε (default: RUN/robustness.png, else robustness.png)."
            | Grid _ ->
                "clean against adversarial digits with both predictions and the perturbation magnified (default: RUN/adversarial.png, else adversarial.png)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."

[<HelpFlags("--help", "-h")>]
type FunctionalArgs =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Predict of ParseResults<PredictArgs>
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None)>] Gradcheck of ParseResults<GradcheckArgs>
    | [<CliPrefix(CliPrefix.None)>] Doctor of ParseResults<DoctorArgs>
    | [<CliPrefix(CliPrefix.None)>] Resume of ParseResults<ResumeArgs>
    | [<CliPrefix(CliPrefix.None)>] Replay of ParseResults<ReplayArgs>
    | [<CliPrefix(CliPrefix.None)>] Drift of ParseResults<DriftArgs>
    | [<CliPrefix(CliPrefix.None)>] Plot of ParseResults<PlotArgs>
    | [<CliPrefix(CliPrefix.None)>] Show of ParseResults<ShowArgs>
    | [<CliPrefix(CliPrefix.None)>] Sweep of ParseResults<SweepArgs>
    | [<CliPrefix(CliPrefix.None)>] Runs of ParseResults<RunsArgs>
    | [<CliPrefix(CliPrefix.None)>] Compare of ParseResults<CompareArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArgs>
    | [<CliPrefix(CliPrefix.None)>] Inspect of ParseResults<InspectArgs>
    | [<CliPrefix(CliPrefix.None)>] Import of ParseResults<ImportArgs>
    | [<CliPrefix(CliPrefix.None)>] Attack of ParseResults<AttackArgs>
    | [<CliPrefix(CliPrefix.None)>] Lr_Find of ParseResults<Lr_FindArgs>
    | Version

    interface IArgParserTemplate with
        member this.Usage =
            match this with
            | Version -> "print functional's version and exit."
            | Train _ -> "train a network on MNIST and report test accuracy."
            | Eval _ -> "evaluate a saved model on a data set."
            | Predict _ -> "predict the class of every image (CSV), or of one (--index), with a saved model."
            | Bench _ -> "benchmark the training kernels."
            | Gradcheck _ -> "compare analytic with numeric gradients, layer by layer, and name what differs."
            | Doctor _ -> "check a training configuration for the usual bugs and say how to fix them."
            | Lr_Find _ ->
                "the learning-rate range test: train while the rate grows exponentially, plot loss against rate, suggest one."
            | Resume _ -> "continue an interrupted run from its newest valid checkpoint."
            | Replay _ -> "re-execute a run's steps bit for bit and inspect one of them."
            | Drift _ ->
                "train a run's steps in float32 and float64 side by side: how far the trajectories drift, per layer, and whether rounding explains it."
            | Plot _ -> "draw a run's training curves into a PNG."
            | Show _ -> "draw a grid of images with their labels (and a model's predictions) into a PNG."
            | Sweep _ -> "train the cross product of option lists, locally or as a Slurm array job."
            | Runs _ -> "list runs: architecture, optimiser, epochs, test accuracy, time, status."
            | Attack _ -> "attack a saved model with FGSM and PGD: accuracy against ε, pictures, masking warnings."
            | Compare _ -> "compare runs and sweeps: the options that differ, results (mean ± std over seeds), a PNG."
            | Report _ ->
                "write one self-contained HTML page of a run (curves, confusion matrix, filters) or of several runs and sweeps."
            | Export _ -> "write a model as ONNX, for ONNX Runtime and other programs."
            | Inspect _ ->
                "print what a safetensors file holds: metadata, every tensor's shape, dtype, min/max/mean/std and non-finite count (--json); for a model its architecture and hash (--rehash accepts edited tensors)."
            | Import _ -> "turn a PyTorch nn.Sequential's safetensors state_dict into a model file."

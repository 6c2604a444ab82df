namespace Functional.Cli

open Argu
open Functional
open Functional.Activations
open Functional.Losses
open Functional.Init
open Functional.Data
open Functional.Optim
open Functional.Arch
open Functional.Cli.Values
open Functional.Cli.Watched

/// The defaults train's help states, read from the presets and Config.defaults so that help and parser cannot disagree.
module internal Defaults =
    let private d = Presets.modern.Config

    let number (x: float) =
        x.ToString("0.##########", System.Globalization.CultureInfo.InvariantCulture)

    let layers, activation, output =
        match Arch.denseParts d.Arch with
        | Some(sizes, hidden, out, _) ->
            (sizes |> Array.map string |> String.concat ","), Activation.name hidden, Activation.name out
        | None -> "", "", ""

    let adamLr = Config.defaultLr "adam"
    let sgdLr = Config.defaultLr "sgd"

    /// Every layer kind's own usage, as --arch reads it.
    let kinds = kinds |> List.map (fun k -> k.Usage) |> String.concat "; "

    /// --kernels, as train and bench explain it.
    let kernels =
        "OpenBLAS's kernels: Haswell (default: every AVX2 CPU has them, so results are the same on all such machines), auto (OpenBLAS's choice for this CPU: maybe faster, not reproducible elsewhere), or SkylakeX, Cooperlake, Zen, Sandybridge...; overrides OPENBLAS_CORETYPE and is recorded in run.json."

/// train's options: the one statement of them. doctor, lr-find, gradcheck and sweep take a part of them through
/// train's parser (Options/Forwarded.fs).
[<RequireQualifiedAccess; Unique; HelpFlags("--help", "-h")>]
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
    | Preset of name: string
    | Train_Count of count: int
    | Validation of fraction_or_file: string
    | Validation_Labels of file: string
    | Test_Every_Epoch
    | Early_Stop of patience: int
    | Monitor of Monitor
    | On_Nonfinite of policy: string
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
            let d = Presets.modern.Config

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
                $"comma-separated layer sizes, input to output, at least 2 (default %s{Defaults.layers}), which must agree with the data; or one size alone: one hidden layer, the inputs and outputs taken from the data."
            | Arch _ ->
                $"the whole network, layer by layer: \"conv 6 5x5 pad 2 relu, maxpool 2, flatten, dense 10 softmax\"; kinds: %s{Defaults.kinds} (rbf: Gaussian units, centres by k-means on the training images, σ = W × the distance to the nearest other centre, W 0.5 by default); an optional leading \"input 1x28x28\" (default: the data's 1x28x28 for convolutions, 784 otherwise)."
            | Activation _ -> $"hidden-layer activation (default %s{Defaults.activation})."
            | Output _ -> $"output-layer activation (default %s{Defaults.output})."
            | Loss _ -> $"loss function; cross-entropy is an alias of ce (default %s{Loss.name d.Loss})."
            | Init _ -> $"weight initialisation (default %s{Init.name d.Init})."
            | No_Bias -> "train without bias terms."
            | Optimizer _ -> $"optimizer (default %s{OptimizerSpec.name d.Optimizer})."
            | Lr _ ->
                $"learning rate > 0 (default %g{Defaults.adamLr} for adam, %g{Defaults.sgdLr} for sgd and momentum)."
            | L2 _ ->
                $"L2 regularisation strength >= 0 (default %s{Defaults.number d.L2}): adds ½λ‖W‖² to the loss, λW to weight gradients."
            | Momentum _ -> $"momentum coefficient in [0, 1) (default %g{Config.defaultMomentum})."
            | Epochs _ -> $"number of epochs >= 1 (default %d{Presets.modern.Epochs})."
            | Batch _ -> $"mini-batch size: a positive integer, or 'full' for full batch (default %d{d.Batch})."
            | Seed _ -> $"random seed (default %d{d.Seed})."
            | Precision _ -> $"floating-point precision (default %s{Precision.name d.Precision})."
            | Reduction _ -> $"how the loss is reduced over a batch (default %s{Reduction.name d.Reduction})."
            | Run _ ->
                "run folder for run.json, journal.jsonl, checkpoints/ and model.safetensors (default runs/<timestamp>)."
            | Checkpoint_Every _ ->
                "also write a checkpoint every N steps, >= 0 (default 0: only at each epoch's end and at the end)."
            | Journal_Every _ ->
                "journal one line (loss, gradient norms, update ratios, weights hash) every N steps (default: 1,000 below batch 32, else 100)."
            | Threads _ -> "worker threads, 0 = auto (default 0)."
            | Kernels _ -> Defaults.kernels
            | Quiet ->
                "print only the result: the model, predicted-classes, plot and test accuracy lines (and any warning); no header, epoch lines or progress bar."
            | Report ->
                "rewrite RUN/report.html after every epoch (the page reloads itself, so a browser tab follows the run), and the full report at the end."
            | Preset _ -> $"start from a named configuration, explicit options override it: %s{Presets.usage ()}."
            | Train_Count _ -> "use only the first N training images, 0 = all (default 0)."
            | Validation _ ->
                $"hold out a fraction of the training set for validation, stratified by class and chosen by the seed (default %g{Presets.modern.Validation}; 0 = none, as the book and seed presets), or a separate validation file (IDX or CSV, as --train)."
            | Validation_Labels _ -> "labels (IDX) for an IDX --validation file; default: beside the images."
            | Test_Every_Epoch ->
                "also print the test accuracy after every epoch. Not the default: choosing an epoch, a learning rate or a recipe by the test column tunes on the test set, and its accuracy then overstates what new data will see; choose on the validation column."
            | Early_Stop _ ->
                "stop when the validation figure (--monitor) has not improved for N epochs (default 0: train every epoch)."
            | Monitor _ ->
                "the validation figure early stopping and --keep best watch: loss (default), accuracy, or robust (with --adversarial: accuracy under PGD-10 at its epsilon on the first 500 validation images, which catches catastrophic overfitting)."
            | On_Nonfinite _ ->
                "a step that would put a NaN or infinity into the weights is not applied: stop (default) keeps the state before it as a checkpoint and stops naming the tensor and the examples; skip[:K] drops that batch, journals it and goes on, stopping after K skips (default 10)."
            | Keep _ ->
                "which epoch's weights model.safetensors holds: best = the best validation epoch (default when there is a validation set), last = the final epoch."
            | Schedule _ ->
                "learning-rate schedule over the run: constant, cosine[:FLOOR] (down to FLOOR·lr at the end; the default), step:EPOCHS[:FACTOR] (×FACTOR, default 0.1, every EPOCHS), onecycle (up to lr over 30%, then down)."
            | Warmup _ -> "epochs of linear learning-rate warm-up before the schedule (fractions allowed; default 0)."
            | Augment _ ->
                $"distort training images, a pure function of (seed, epoch, example): none, or a list of shift:PIXELS (whole pixels), rotate:DEGREES, scale:FRACTION, elastic:ALPHA[:SIGMA] (Simard's, σ 4 by default; slow); default %s{Augment.Augment.text Presets.modern.Config.Augment} (none for the book and seed presets)."
            | Adversarial _ ->
                "adversarial training: each step trains on its batch attacked by the network as it stands: fgsm:EPS (from the clean input), fgsm:EPS:random (from a random start, step 1.25·EPS) or pgd:EPS:STEPS (random start, step 2.5·EPS/STEPS) or trades:EPS:STEPS[:BETA] (TRADES: PGD on KL(clean ‖ adversarial), loss clean cross-entropy + BETA·KL, BETA 6 by default); EPS in [0, 1] units of the pixel range (default: none)."
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

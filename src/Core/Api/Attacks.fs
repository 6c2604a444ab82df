/// The facade's attacks: building an attack, running it on a model, and reading its signs of masking.
namespace Functional.Api

open System
open Functional

[<AbstractClass; Sealed>]
type Attacks =
    /// The valid input range of a scaling (what bytes 0 and 255 become).
    static member Range(scale: Functional.Data.Scale) = Functional.Attacks.range scale

    /// Why this attack cannot run against inputs of this range, or null.
    static member Problem(attack: Functional.Attacks.Attack, range: Functional.Attacks.Range) : string | null =
        Functional.Attacks.problem attack range |> Checked.ofOption

    static member Fgsm(eps: float, randomStart: bool, seed: int) =
        Functional.Attacks.fgsm eps randomStart seed

    static member Pgd(eps: float, steps: int, restarts: int, seed: int) =
        Functional.Attacks.pgd eps steps restarts seed

    static member ApgdCe(eps: float, steps: int, restarts: int, seed: int) =
        Functional.Attacks.apgdCe eps steps restarts seed

    static member ApgdT(eps: float, steps: int, restarts: int, targets: int, seed: int) =
        Functional.Attacks.apgdT eps steps restarts targets seed

    static member Square(eps: float, queries: int, restarts: int, seed: int) =
        Functional.Attacks.square eps queries restarts seed

    static member AutoAttack(eps: float, steps: int, queries: int, restarts: int, targets: int, seed: int) =
        Functional.Attacks.autoAttack eps steps queries restarts targets seed

    static member MethodName(m: Functional.Attacks.Method) = Functional.Attacks.Method.name m

    /// `attack` on the first `count` images, in chunks of `chunk` examples, keeping `keep` adversarial inputs.
    static member Run
        (
            model: Model,
            images: Functional.Data.Images,
            count: int,
            chunk: int,
            keep: int,
            attack: Functional.Attacks.Attack
        ) =
        let spec = model.Spec

        match spec.Precision with
        | Float64 ->
            AutoAttack.run (Named.network<float> spec.Arch (model.Tensors())) spec.Scale images count chunk keep attack
        | Float32 ->
            AutoAttack.run
                (Named.network<float32> spec.Arch (model.Tensors()))
                spec.Scale
                images
                count
                chunk
                keep
                attack

    /// The accuracy under PGD-10 (one restart, random start) at an adversarial training's epsilon on the first `count`
    /// images: the figure `--monitor robust` watches, seeded, so a resumed run measures what the uninterrupted one did.
    static member RobustAccuracy
        (
            model: Model,
            images: Functional.Data.Images,
            count: int,
            adversarial: Functional.Attacks.Adversarial,
            seed: int
        ) =
        let range = Functional.Attacks.range model.Spec.Scale

        let attack =
            Functional.Attacks.pgd (adversarial.Eps * (range.Hi - range.Lo)) 10 1 seed

        let chunk = if Models.IsConvolutional model.Spec.Arch then 100 else 500
        (Attacks.Run(model, images, min count images.Count, chunk, 0, attack)).Accuracy

    /// The fraction of the first `count` images whose input gradient is exactly zero.
    static member ZeroGradients(model: Model, images: Functional.Data.Images, count: int, chunk: int) =
        let spec = model.Spec

        match spec.Precision with
        | Float64 ->
            Functional.Attacks.zeroGradients
                (Named.network<float> spec.Arch (model.Tensors()))
                spec.Scale
                images
                count
                chunk
        | Float32 ->
            Functional.Attacks.zeroGradients
                (Named.network<float32> spec.Arch (model.Tensors()))
                spec.Scale
                images
                count
                chunk

    /// One line per sign of apparent robustness in these outcomes (Masking.warnings).
    static member MaskingWarnings
        (command: string, epsText: Func<float, string>, zeroGradients: float, outcomes: Functional.Attacks.Outcome[])
        : string[] =
        Masking.warnings command epsText.Invoke zeroGradients outcomes |> Array.ofList

    /// Reads an --adversarial value ("fgsm:0.1", "fgsm:0.1:random", "pgd:0.3:40").
    static member ParseAdversarial(text: string, weight: float) : Checked<Functional.Attacks.Adversarial> =
        Functional.Attacks.Adversarial.parse weight text |> Checked.ofResult

    /// An --adversarial value as the option writes it.
    static member AdversarialText(adversarial: Functional.Attacks.Adversarial) =
        Functional.Attacks.Adversarial.text adversarial

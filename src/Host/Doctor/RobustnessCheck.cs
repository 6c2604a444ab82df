using System.Globalization;
using System.Text.Json.Nodes;

namespace Functional.Host.Doctor;

/// <summary>
/// For adversarial training: trains the configured run for a while (its first epochs, at most
/// <see cref="MaxUpdates"/> updates), attacks <see cref="Examples"/> test images with FGSM at ε/4 and ε and with
/// PGD-10 at ε (ε the training one), and WARNs on the signs of robustness that is only apparent (Masking.fs).
/// </summary>
public static class RobustnessCheck
{
    public const int MaxUpdates = 750;
    public const int Examples = 500;

    public static Finding Run(Subject s)
    {
        var adversarial = Api.Training.Adversarial(s.Config);
        var trainer = Api.Training.CreateTrainer(s.Config, s.TrainCore);
        int updates = (int)Math.Min(MaxUpdates, s.TotalUpdates);
        foreach (var (order, offset, count) in Subject.Schedule(s.Config.Seed, s.Train.Count, s.Batch).Take(updates))
        {
            trainer.Step(order, offset, count);
        }
        var range = Api.Attacks.Range(s.Config.Scale);
        double eps = adversarial.Eps * range.Width;
        int n = Math.Min(Examples, s.Test.Count);
        int chunk = Api.Models.IsConvolutional(s.Config.Arch) ? 100 : 500;
        Attacks.Attack[] attacks = [Api.Attacks.Fgsm(eps / 4, false, 1), Api.Attacks.Fgsm(eps, false, 1), Api.Attacks.Pgd(eps, 10, 1, 1)];
        var outcomes = attacks.Select(a => Api.Attacks.Run(trainer.Model, s.TestCore, n, chunk, 0, a)).ToArray();
        double zero = Api.Attacks.ZeroGradients(trainer.Model, s.TestCore, n, chunk);
        string E(double inputEps) => (inputEps / range.Width).ToString("0.###", CultureInfo.InvariantCulture);
        string figure = string.Create(CultureInfo.InvariantCulture,
            $"after {updates} updates of {Api.Attacks.AdversarialText(adversarial)}, on {n} test images: FGSM {100 * outcomes[0].Accuracy:F1}% at ε {E(eps / 4)}, {100 * outcomes[1].Accuracy:F1}% at {E(eps)}; PGD-10 {100 * outcomes[2].Accuracy:F1}% at {E(eps)}");
        var data = new JsonObject
        {
            ["updates"] = updates,
            ["fgsm_quarter_eps"] = outcomes[0].Accuracy,
            ["fgsm_eps"] = outcomes[1].Accuracy,
            ["pgd10_eps"] = outcomes[2].Accuracy,
            ["zero_gradient_fraction"] = zero,
        };
        string[] warnings = Api.Attacks.MaskingWarnings("functional attack RUN", E, zero, outcomes);
        return warnings.Length == 0
            ? new Finding("robustness", Status.Pass, figure) { Data = data }
            : new Finding("robustness", Status.Warn, figure, string.Join(" ", warnings),
                "evaluate the trained model with the attack above; train with a random start (fgsm:EPS:random) or with PGD.")
            { Data = data };
    }
}

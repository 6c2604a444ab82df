using Functional.Host.Data;

namespace Functional.Host.Runs;

/// <summary>The lines train prints before its first step: the configuration, the data and the BLAS backend (the
/// report shows a run's as train printed them).</summary>
public static class TrainHeader
{
    public static List<string> Lines(Config config, int epochs, string preset, LabeledImages train, ValidationRef? validationRef,
        LabeledImages? validation, LabeledImages test, DataInfo? info, string blas)
    {
        // The scaling the rows get: a table's transform (run.json's data_info), not the targets' unit.
        string scaling = DataSetup.ScaleText(config, train.IsTable, info?.Scale ?? "");
        var lines = new List<string>
        {
            $"train {Api.Training.Describe(config, scaling)}, {(config.Batch <= 0 ? "full batch" : $"batch {config.Batch}")}, {epochs} epochs, {config.PrecisionName}, seed {config.Seed}{(preset == "modern" ? "" : $", preset {preset}")}",
        };
        string held = validationRef switch
        {
            null => "",
            { IsFile: true } => $", validation {validation!.Count:N0} ({validation.ImagesPath})",
            _ => $", validation {validation!.Count:N0} held out of them",
        };
        string rows = train.IsTable ? "rows" : "images";
        lines.Add($"data  train {train.Count:N0} {rows} ({train.ImagesPath}){held}, test {test.Count:N0} ({test.ImagesPath})");
        if (info is not null && (train.IsTable || info.ClassNames is not null))
        {
            string scaleText = train.IsTable ? $", scale {info.Scale}" : "";
            string features = train.IsTable ? $"{info.Features} features, " : "";
            lines.Add($"      {features}{info.Classes} classes ({string.Join(", ", Enumerable.Range(0, info.Classes).Select(info.NameOf))}){scaleText}");
        }
        lines.Add($"blas  {blas}");
        return lines;
    }
}

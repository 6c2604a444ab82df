namespace Functional.Host.Data;

/// <summary>
/// Checks of the labels before the first epoch, each one line: refused (a <see cref="DataError"/>, exit 3) where
/// training cannot mean anything (no rows, one class), warned otherwise (classes the network has outputs for but
/// the training set lacks, test classes the training set lacks, rows shared by the training and test sets, a
/// label column that looks like the wrong one).
/// </summary>
public static class LabelChecks
{
    /// <summary>Returns the warnings, one line each; throws for the refusals.</summary>
    public static List<string> Run(LabeledImages train, LabeledImages test, int classes, bool allowOneClass)
    {
        var warnings = new List<string>();
        if (train.Count == 0)
        {
            throw new DataError(train.ImagesPath, "no rows to train on");
        }
        var trainClasses = train.Labels.Distinct().Order().ToArray();
        if (trainClasses.Length == 1 && !allowOneClass)
        {
            throw new DataError(train.LabelsPath,
                $"every training label is {Name(train, trainClasses[0])}: one class, nothing to tell apart"
                + WrongColumnHint(train) + " (--allow-one-class trains anyway)");
        }
        var missing = Enumerable.Range(0, classes).Where(c => Array.IndexOf(trainClasses, (byte)c) < 0).ToArray();
        if (missing.Length > 0)
        {
            warnings.Add($"warning: {train.LabelsPath}: the network has {classes} outputs but the training set has no example of {Names(train, missing)}{WrongColumnHint(train)}");
        }
        else if (WrongColumnHint(train) is { Length: > 0 } hint)
        {
            warnings.Add($"warning: {train.ImagesPath}: the labels may be in the wrong column{hint}");
        }
        var unseen = test.Labels.Distinct().Where(c => Array.IndexOf(trainClasses, c) < 0).Order().ToArray();
        if (unseen.Length > 0)
        {
            warnings.Add($"warning: {test.LabelsPath}: test classes the training set lacks: {Names(test, [.. unseen.Select(c => (int)c)])}");
        }
        int shared = SharedRows(train, test);
        if (shared > 0)
        {
            warnings.Add($"warning: {test.ImagesPath}: {shared:N0} of its {test.Count:N0} rows are identical to training rows (leakage: the test accuracy overstates what new data will see)");
        }
        return warnings;
    }

    /// <summary>A table whose first column is constant while its last holds a few small integers: the labels are
    /// probably there (a blank corner pixel read as the label is the classic case).</summary>
    static string WrongColumnHint(LabeledImages data)
    {
        if (data.Count < 2 || data.Features < 1)
        {
            return "";
        }
        int f = data.Features;
        bool constantFirst = true;
        bool smallLast = true;
        var lastValues = new HashSet<double>();
        for (int r = 0; r < data.Count; r++)
        {
            double first = Value(data, r, 0);
            double last = Value(data, r, f - 1);
            constantFirst &= first == Value(data, 0, 0);
            smallLast &= last >= 0 && last < Table.MaxClasses && last == Math.Floor(last);
            lastValues.Add(last);
        }
        bool labelsConstant = data.Labels.Distinct().Count() == 1;
        return (constantFirst || labelsConstant) && smallLast && lastValues.Count is > 1 and <= 100
            ? $"; the last column holds {lastValues.Count} small integers: try --label-column last"
            : "";
    }

    /// <summary>A table's value, or an image's pixel as stored (bytes, before scaling).</summary>
    static double Value(LabeledImages data, int row, int feature) =>
        data.IsTable ? data.Values![(row * data.Features) + feature] : data.Pixels[(row * data.Features) + feature];

    static int SharedRows(LabeledImages train, LabeledImages test)
    {
        if (train.Features != test.Features)
        {
            return 0;
        }
        var seen = new HashSet<string>(train.Count);
        for (int r = 0; r < train.Count; r++)
        {
            seen.Add(Key(train, r));
        }
        int shared = 0;
        for (int r = 0; r < test.Count; r++)
        {
            shared += seen.Contains(Key(test, r)) ? 1 : 0;
        }
        return shared;
    }

    static string Key(LabeledImages data, int row)
    {
        int f = data.Features;
        return data.IsTable
            ? Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Values.AsSpan(row * f, f)))
            : Convert.ToBase64String(data.Pixels, row * f, f);
    }

    static string Name(LabeledImages data, int c) => $"'{Table.Shown(ClassNames.Of(data.ClassNames, c))}'";

    static string Names(LabeledImages data, int[] classes) =>
        (classes.Length == 1 ? "class " : "classes ")
        + string.Join(", ", classes.Take(10).Select(c => Name(data, c)))
        + (classes.Length > 10 ? $" and {classes.Length - 10} more" : "");
}

namespace Functional.Host;

/// <summary>
/// What a model's first layer looks for, as pictures: its first convolution's filters, else its first RBF layer's
/// centres, else (for the report) its first dense layer's weight rows, each as an image when the inputs are square.
/// </summary>
public static class FirstFilters
{
    /// <summary>RBF centres and dense rows drawn: at most this many, as square images.</summary>
    public const int Shown = 64;

    /// <summary>The weight to draw as [k, in, kh, kw] and its picture's title; null when the model has none of
    /// those layers (or their inputs are not square). Dense rows only when <paramref name="dense"/>.</summary>
    public static (NamedArray Weight, string Title)? Of(Model model, bool dense)
    {
        var tensors = model.Tensors();
        var conv = tensors.FirstOrDefault(t => t.Shape.Length == 4 && t.Name.EndsWith(".weight", StringComparison.Ordinal));
        var weight = conv ?? AsImages(tensors, ".centres") ?? (dense ? AsImages(tensors, ".weight") : null);
        if (weight is null)
        {
            return null;
        }
        bool rows = conv is null && weight.Name.EndsWith(".weight", StringComparison.Ordinal);
        string layer = weight.Name.Split('.')[1];
        int index = int.Parse(layer, System.Globalization.CultureInfo.InvariantCulture);
        string text = Api.Models.LayerText(model.Spec.Arch, index);
        string what = rows ? "weight rows" : "filters";
        return (weight, $"{Api.Display.LayerName(index, text)}: {weight.Shape[0]} {what} of {weight.Shape[1]}x{weight.Shape[2]}x{weight.Shape[3]}, each scaled min (black) to max (white)");
    }

    /// <summary>The first 2-D tensor named *<paramref name="suffix"/> [k, F], its first rows as one-channel filters
    /// [k, 1, side, side], when F is a square.</summary>
    static NamedArray? AsImages(NamedArray[] tensors, string suffix)
    {
        var c = tensors.FirstOrDefault(t => t.Shape.Length == 2 && t.Name.EndsWith(suffix, StringComparison.Ordinal));
        if (c is null)
        {
            return null;
        }
        int side = (int)Math.Round(Math.Sqrt(c.Shape[1]));
        if (side * side != c.Shape[1])
        {
            return null;
        }
        int k = Math.Min(c.Shape[0], Shown), n = k * side * side;
        return new NamedArray(c.Name, [k, 1, side, side], c.Float32?[..n]!, c.Float64?[..n]!);
    }
}

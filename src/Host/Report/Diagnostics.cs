using System.Text;
using System.Text.Json.Nodes;

namespace Functional.Host.Report;

/// <summary>What doctor, attack and drift left in the run folder: their pictures (attack and drift write them there
/// by default) and their --json output when it was saved there as doctor.json, attack.json or drift.json.</summary>
public static class Diagnostics
{
    static readonly (string File, string Title)[] Pictures =
    [
        ("doctor.png", "doctor: activations and gradients per layer"),
        ("robustness.png", "attack: accuracy against ε"),
        ("adversarial.png", "attack: adversarial examples"),
        ("drift.png", "drift: float32 against float64"),
    ];

    public static void Render(StringBuilder sb, RunData d)
    {
        var body = new StringBuilder();
        Doctor(body, d);
        Attack(body, d);
        Drift(body, d);
        foreach (var (file, title) in Pictures)
        {
            string path = Path.Combine(d.Dir, file);
            if (File.Exists(path))
            {
                body.Append("<figure class=\"pic\"><img alt=\"").Append(Html.Esc(title)).Append("\" src=\"")
                    .Append(Html.DataUri(File.ReadAllBytes(path))).Append("\"><figcaption>").Append(Html.Esc($"{title} ({file})")).Append("</figcaption></figure>");
            }
        }
        if (body.Length > 0)
        {
            sb.Append("<h2>Diagnostics</h2>").Append(body);
        }
    }

    /// <summary>A saved --json output; a corrupt one is a problem line, not the end of the page.</summary>
    static JsonObject? Read(RunData d, string file)
    {
        string path = Path.Combine(d.Dir, file);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new System.Text.Json.JsonException("not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            d.Problems.Add($"{path}: not valid JSON ({e.Message})");
            return null;
        }
    }

    static string S(JsonNode? n) => n switch
    {
        null => "—",
        JsonValue v when v.TryGetValue(out double x) => Html.G(x),
        JsonValue v => v.ToString(),
        _ => n.ToJsonString(),
    };

    static void Doctor(StringBuilder sb, RunData d)
    {
        if (Read(d, "doctor.json") is not { } o)
        {
            return;
        }
        sb.Append("<h3>doctor: ").Append(Html.Esc(S(o["status"]))).Append("</h3><table class=\"grid\"><thead><tr><th>check</th><th>status</th><th>figure</th><th>cause / fix</th></tr></thead><tbody>");
        foreach (var c in o["checks"] as JsonArray ?? [])
        {
            string status = S(c?["status"]);
            sb.Append("<tr class=\"st-").Append(Html.Esc(status.ToLowerInvariant())).Append("\"><td>").Append(Html.Esc(S(c?["check"]))).Append("</td><td>")
                .Append(Html.Esc(status)).Append("</td><td>").Append(Html.Esc(S(c?["figure"]))).Append("</td><td>")
                .Append(Html.Esc(c?["cause"] is null ? "" : S(c["cause"]) + (c["fix"] is null ? "" : " — " + S(c["fix"])))).Append("</td></tr>");
        }
        sb.Append("</tbody></table>");
        if (o["recommended"] is JsonValue fix)
        {
            sb.Append("<p>recommended: <code>").Append(Html.Esc(fix.ToString())).Append("</code></p>");
        }
    }

    static void Attack(StringBuilder sb, RunData d)
    {
        if (Read(d, "attack.json") is not { } o)
        {
            return;
        }
        sb.Append("<h3>attack</h3><p>clean accuracy ").Append(o["clean_accuracy"] is JsonValue c && c.TryGetValue(out double a) ? Html.Percent(a) : "—")
            .Append(" on ").Append(Html.Esc(S(o["count"]))).Append(" images; ε in ").Append(Html.Esc(S(o["eps_units"]))).Append(" units</p>");
        sb.Append("<table class=\"grid\"><thead><tr><th>method</th><th>ε</th><th>steps</th><th>accuracy</th></tr></thead><tbody>");
        foreach (var r in o["results"] as JsonArray ?? [])
        {
            sb.Append("<tr><td>").Append(Html.Esc(S(r?["method"]))).Append("</td><td class=\"num\">").Append(Html.Esc(S(r?["eps"])))
                .Append("</td><td class=\"num\">").Append(Html.Esc(S(r?["steps"]))).Append("</td><td class=\"num\">")
                .Append(r?["accuracy"] is JsonValue v && v.TryGetValue(out double x) ? Html.Percent(x) : "—").Append("</td></tr>");
        }
        sb.Append("</tbody></table>");
    }

    static void Drift(StringBuilder sb, RunData d)
    {
        if (Read(d, "drift.json") is not { } o)
        {
            return;
        }
        sb.Append("<h3>drift</h3><p>").Append(Html.Esc(S(o["verdict"]))).Append("</p>");
    }
}

namespace Functional.Host.Report;

/// <summary>The page's stylesheet: readable from a phone's width to 1280 pixels, the system's fonts (nothing to load).</summary>
public static class PageStyle
{
    public const string Css = """
        :root{--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--bg:#fff;--accent:#0072B2;--bad:#a40000}
        *{box-sizing:border-box}
        body{margin:0 auto;max-width:1280px;padding:12px 16px 40px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid var(--line)}h3{font-size:1.05em;margin:1em 0 .3em}
        .path,.hint{color:var(--muted);margin:.2em 0}
        pre.header{background:#f5f5f5;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;border-radius:4px}
        .problems{border:2px solid var(--bad);border-radius:4px;padding:4px 10px;margin:8px 0;color:var(--bad)}
        .problems li.warning{color:#7a4b00}
        p.live{background:#fff4d6;border:1px solid #E69F00;border-radius:4px;padding:6px 10px}
        dl.figures{display:flex;flex-wrap:wrap;gap:6px 22px;margin:8px 0}dl.figures div{min-width:7em}dt{color:var(--muted);font-size:.85em}dd{margin:0;font-weight:600;font-size:1.1em}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:12px}
        figure{margin:0}figure.chart{border:1px solid var(--line);border-radius:4px;padding:6px}
        figure.chart figcaption{display:flex;justify-content:space-between;align-items:center;gap:8px;font-weight:600}
        figure.chart svg{width:100%;height:auto;display:block;touch-action:none}
        figure.chart svg:focus{outline:2px solid var(--accent)}
        figure.chart .logy{display:none}figure.chart.log .logy{display:inline}figure.chart.log .lin{display:none}
        figure.chart.zoomed .lin,figure.chart.zoomed .logy{display:none}
        .tools{display:flex;gap:4px;flex-wrap:wrap}.band{fill:#0072B2;opacity:.15}
        .frame{fill:none;stroke:#999}.grid{stroke:#eee}.tick{font-size:11px;fill:#444}.axis{font-size:12px;fill:#222}
        path.line{fill:none;stroke-width:1.8}path.line.dash{stroke-dasharray:6 3}path.line.faint{stroke-width:1;opacity:.35}
        .marker{stroke:#009E73;stroke-width:1.5;stroke-dasharray:5 4}.mlabel{font-size:11px;fill:#006b4f}
        .cursor{stroke:#333;stroke-width:1}
        body.has-sel [data-run]:not(.sel){opacity:.15}body.has-sel path.line.sel{stroke-width:3.2}
        ul.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:13px}
        .sw{display:inline-block;width:22px;border-top:3px solid;vertical-align:middle;margin-right:5px}.sw.dash{border-top-style:dashed}.sw.mk{border-color:#009E73;border-top-style:dotted}
        .readout{font-size:13px;min-height:2.6em;overflow-wrap:anywhere}.readout .v{font-variant-numeric:tabular-nums;margin-right:12px}
        .readout code{background:#f1f1f1;padding:1px 4px}
        button{font:inherit;font-size:13px;padding:2px 8px;border:1px solid #888;border-radius:3px;background:#f7f7f7;cursor:pointer}
        button:focus-visible,tr:focus-visible{outline:2px solid var(--accent)}
        button[aria-pressed=true]{background:#dbe9f6;border-color:var(--accent)}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;font-size:14px}th,td{padding:3px 7px;border:1px solid var(--line);text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
        table.confusion td{text-align:right;min-width:3em;font-variant-numeric:tabular-nums}
        table.confusion button.cell{all:unset;cursor:pointer;display:block;text-align:right;width:100%}
        table.confusion button.cell:focus-visible{outline:2px solid #E69F00}
        .cellimgs img.strip,img.strip{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid var(--line)}
        figure.pic img{max-width:100%;height:auto}
        table.kv th{font-weight:500;color:var(--muted)}
        table.runs tbody tr{cursor:pointer}table.runs tbody tr.sel{background:#fff4d6}
        table.runs th button{all:unset;cursor:pointer}table.runs th button::after{content:" \2195";color:#999}
        tr.st-fail td{color:var(--bad)}tr.st-warn td{color:#7a4b00}
        ol.wrong{font-size:13px;columns:2 22em}
        @media (max-width:600px){body{padding:8px}dl.figures{gap:4px 14px}}
        """;
}

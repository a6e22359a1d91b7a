/**
 * The one stylesheet, inlined in every page and allowed by the Content-Security-Policy through
 * its SHA-256 hash (no 'unsafe-inline', no style attributes anywhere).
 * @module
 */
import { createHash } from 'node:crypto';

export const STYLE = `
:root{color-scheme:light dark;--bg:#f4f6f9;--surface:#fff;--surface2:#eef1f5;--text:#17202b;--muted:#5a6574;
--border:#d8dee6;--accent:#0a5bd3;--accent-text:#fff;--bar:#3b7ddd;--bar-live:#93b8ee;--track:#e3e8ef;
--ok:#18794e;--warn:#a35200;--bad:#c62a2f;--info:#2657b8;--focus:#f59e0b;--chip:#e8eef8}
@media (prefers-color-scheme:dark){:root{--bg:#0e1116;--surface:#161b22;--surface2:#1d242d;--text:#e4e8ee;
--muted:#98a3b1;--border:#2b333e;--accent:#5ea2ff;--accent-text:#06121f;--bar:#4d94f5;--bar-live:#2d5a96;
--track:#242c37;--ok:#3fb97f;--warn:#e09a3e;--bad:#f26b6f;--info:#7aa7ff;--focus:#fbbf24;--chip:#1f2a3a}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent);text-underline-offset:2px}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid var(--focus);outline-offset:2px;
border-radius:4px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.skip{position:absolute;left:-9999px;top:0}
.skip:focus{left:8px;top:8px;z-index:10;background:var(--surface);padding:6px 10px}
.wrap{max-width:1180px;margin:0 auto;padding:0 16px}
header.top{background:var(--surface);border-bottom:1px solid var(--border)}
header.top .wrap{display:flex;flex-wrap:wrap;align-items:center;gap:6px 18px;padding-top:10px;
padding-bottom:10px}
.brand{font-weight:700;font-size:18px;letter-spacing:-.01em;color:var(--text);text-decoration:none}
.brand span{color:var(--accent)}
.where{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 8px;min-width:0}
.source{font-weight:600}
.target{color:var(--muted);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
nav.views{display:flex;gap:4px;margin-left:auto}
nav.views a{padding:5px 10px;border-radius:6px;text-decoration:none;color:var(--muted);font-weight:500}
nav.views a[aria-current=page]{background:var(--surface2);color:var(--text)}
.meta{color:var(--muted);font-size:13px;margin:0;width:100%}
main.wrap{padding-top:16px;padding-bottom:28px}
.controls{display:flex;flex-wrap:wrap;gap:10px 24px;align-items:center;margin-bottom:12px}
.tabs{display:flex;align-items:center;gap:8px;min-width:0}
.tabs-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em;font-weight:600}
.tabs ul{display:flex;flex-wrap:wrap;gap:2px;list-style:none;margin:0;padding:3px;background:var(--surface);
border:1px solid var(--border);border-radius:8px}
.tabs a{display:block;padding:4px 11px;border-radius:5px;text-decoration:none;color:var(--text);
font-weight:500;font-size:14px}
.tabs a:hover{background:var(--surface2)}
.tabs a[aria-current=page]{background:var(--accent);color:var(--accent-text)}
.panel{background:var(--surface);border:1px solid var(--border);border-radius:10px;padding:12px 14px;
margin-bottom:14px}
.crumbs{display:flex;flex-wrap:wrap;gap:6px;list-style:none;margin:0 0 10px;padding:0;align-items:center}
.crumbs .lead{color:var(--muted);font-size:13px;margin-right:2px}
.tok{display:inline-flex;align-items:center;max-width:100%;background:var(--chip);border:1px solid var(--border);
border-radius:999px;padding:2px 4px 2px 10px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:13px}
.tok .k{color:var(--muted)}
.tok .op{color:var(--muted);padding:0 1px}
.tok .v{font-weight:600;overflow-wrap:anywhere}
.tok a.x{display:inline-block;margin-left:6px;width:22px;height:22px;line-height:21px;text-align:center;
border-radius:50%;text-decoration:none;color:var(--muted);font-family:system-ui,sans-serif;font-size:16px}
.tok a.x:hover{background:var(--border);color:var(--text)}
.none{color:var(--muted);font-size:13px}
form.filter{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
form.filter label{font-weight:600;font-size:14px}
form.filter input[type=text]{flex:1 1 320px;min-width:0;padding:7px 10px;border:1px solid var(--border);
border-radius:7px;background:var(--bg);color:var(--text);font:14px ui-monospace,SFMono-Regular,Menlo,Consolas,
monospace}
form.filter button{padding:7px 16px;border:0;border-radius:7px;background:var(--accent);color:var(--accent-text);
font:inherit;font-weight:600;cursor:pointer}
.hint{color:var(--muted);font-size:12.5px;margin:8px 0 0}
.hint code{font-size:12px}
.alert{border:1px solid var(--bad);background:color-mix(in srgb,var(--bad) 10%,var(--surface));
border-radius:8px;padding:10px 12px;margin:0 0 12px}
.alert strong{color:var(--bad)}
.alert code{overflow-wrap:anywhere}
figure.trend{margin:0}
figure.trend figcaption{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px;font-size:13px;
color:var(--muted);margin-bottom:2px}
figure.trend figcaption strong{color:var(--text)}
svg.spark{display:block;overflow:visible}
svg.spark text{fill:var(--muted);font-size:11px;font-family:system-ui,sans-serif}
svg.spark .grid{stroke:var(--border);stroke-dasharray:3 3}
svg.spark .axis{stroke:var(--muted)}
svg.spark .bar{fill:var(--bar)}
svg.spark .live .bar{fill:var(--bar-live)}
svg.spark .hit{fill:transparent}
svg.spark .pt:hover .hit{fill:var(--surface2)}
svg.spark .pt:hover .bar{fill:var(--accent)}
.empty{color:var(--muted);margin:8px 0}
table.ranked{width:100%;border-collapse:collapse;font-size:14px}
table.ranked caption{text-align:left;font-weight:600;padding:0 0 8px;font-size:15px}
table.ranked caption .sub{color:var(--muted);font-weight:400}
table.ranked th,table.ranked td{padding:6px 8px;border-bottom:1px solid var(--border);text-align:left;
vertical-align:middle}
table.ranked thead th{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
font-weight:600;border-bottom-width:2px}
table.ranked .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.ranked td.rank{color:var(--muted);width:3em}
table.ranked td.share{width:26%;white-space:nowrap}
table.ranked td.label{overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:13.5px}
table.ranked tbody tr{position:relative}
table.ranked tbody tr:hover{background:var(--surface2)}
table.ranked td.label a{text-decoration:none;font-weight:500}
table.ranked td.label a::after{content:"";position:absolute;inset:0}
table.ranked td.label a:hover{text-decoration:underline}
table.ranked td.label a:focus-visible{outline:none}
table.ranked tbody tr:focus-within{outline:3px solid var(--focus);outline-offset:-3px}
.share-bar{display:inline-block;vertical-align:middle;width:calc(100% - 4.2em);height:10px;border-radius:3px;
overflow:hidden}
svg.share-bar .track{fill:var(--track)}
svg.share-bar .fill{fill:var(--bar)}
.pct{display:inline-block;width:4em;text-align:right;font-variant-numeric:tabular-nums;color:var(--muted);
font-size:13px}
.blank{color:var(--muted);font-style:italic;font-family:system-ui,sans-serif}
.st{display:inline-block;min-width:3.2em;text-align:center;border-radius:5px;padding:0 6px;font-weight:600}
.s2{color:var(--ok)}.s3{color:var(--info)}.s4{color:var(--warn)}.s5{color:var(--bad)}
.foot{display:flex;flex-wrap:wrap;gap:6px 22px;margin-top:10px;color:var(--muted);font-size:13px}
.foot ul{display:inline-flex;gap:2px;list-style:none;margin:0;padding:0}
.foot li a{padding:2px 7px;border-radius:5px;text-decoration:none}
.foot li a[aria-current=page]{background:var(--surface2);color:var(--text);font-weight:600}
.state{display:inline-flex;align-items:center;gap:6px;font-weight:600}
.state::before{content:"";width:9px;height:9px;border-radius:50%;background:currentColor}
.state.up{color:var(--ok)}.state.degraded{color:var(--warn)}
.err h1{font-size:22px;margin:8px 0 10px}
.err .why{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13.5px;overflow-wrap:anywhere;
background:var(--surface2);border-radius:6px;padding:8px 10px}
footer.bottom{color:var(--muted);font-size:12px;padding-bottom:24px}
@media (max-width:640px){
body{font-size:14px}
.wrap{padding:0 10px}
nav.views{margin-left:0}
.tabs{flex-wrap:wrap}
.tabs a{padding:5px 9px}
table.ranked th,table.ranked td{padding:6px 5px}
table.ranked td.share{width:1%}
table.ranked td.label{font-size:13px}
table.ranked .share-bar{display:none}
table.ranked td.rank{width:2em}
}
`;

/** The `'sha256-…'` source that allows exactly STYLE. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

// The dashboard page served at / by `run --http`. Everything is inline: the
// tool runs in locked-down networks, so no CDN, font or script is fetched.
#include "server/ops_server.h"

namespace fm::server {

const std::string& DashboardHtml() {
  static const std::string html = R"FMHTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fhir-migrate</title>
<style>
:root{--bg:#0f1419;--panel:#171e26;--line:#2a3440;--fg:#d8e0e8;--dim:#8a97a5;--planned:#4a5563;
--exporting:#d9a53a;--loading:#3a8fd9;--done:#3fb068;--failed:#e0524d}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.4 system-ui,sans-serif}
header{display:flex;align-items:baseline;gap:16px;padding:14px 20px;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0}#updated{color:var(--dim);font-size:12px;margin-left:auto}
#state{padding:2px 8px;border-radius:10px;font-size:12px;background:var(--done);color:#000}
#state.halted{background:var(--failed)}#state.stale{background:var(--planned);color:var(--fg)}
main{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;padding:14px 20px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.panel h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--dim);margin:0 0 8px}
.kpi .v{font-size:22px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.kpi .s{color:var(--dim);font-size:12px}
.wide{grid-column:span 4}.half{grid-column:span 2}
#timeline{display:flex;flex-wrap:wrap;gap:2px;min-height:22px}
#timeline div{width:14px;height:22px;border-radius:2px;background:var(--planned)}
#timeline .extracting,#timeline .extracted{background:var(--exporting)}
#timeline .loading{background:var(--loading)}#timeline .loaded{background:var(--done)}
#timeline .failed{background:var(--failed)}
.legend{display:flex;gap:14px;margin-top:8px;color:var(--dim);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
canvas{width:100%;height:180px;display:block}
table{width:100%;border-collapse:collapse;font-size:13px}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid var(--line)}th{color:var(--dim);font-weight:500}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{height:8px;background:var(--line);border-radius:4px;overflow:hidden;min-width:80px}
.bar span{display:block;height:100%;background:var(--done)}
.empty{color:var(--dim)}.bad{color:var(--failed)}.good{color:var(--done)}
#error{display:none;background:var(--failed);color:#000;padding:6px 20px}
</style></head><body>
<header><h1>fhir-migrate</h1><span id="state">starting</span><span id="updated">waiting for data</span></header>
<div id="error"></div>
<main>
<section class="panel kpi"><h2>Watermark</h2><div class="v" id="watermark">&ndash;</div><div class="s" id="start"></div></section>
<section class="panel kpi"><h2>Lag</h2><div class="v" id="lag">&ndash;</div><div class="s">now &minus; watermark</div></section>
<section class="panel kpi"><h2>Throughput</h2><div class="v" id="rate">&ndash;</div><div class="s" id="rate-sub">resources/s</div></section>
<section class="panel kpi"><h2>Loaded</h2><div class="v" id="loaded">&ndash;</div><div class="s" id="loaded-sub"></div></section>
<section class="panel wide"><h2>Window timeline</h2><div id="timeline" data-windows="0"></div>
<div class="legend"><span><i style="background:var(--planned)"></i>planned</span><span><i style="background:var(--exporting)"></i>extracting (search or export)</span>
<span><i style="background:var(--loading)"></i>loading</span><span><i style="background:var(--done)"></i>done</span><span><i style="background:var(--failed)"></i>failed</span>
<span id="window-counts"></span></div></section>
<section class="panel half"><h2>Throughput (resources/s)</h2><canvas id="chart" width="800" height="180" data-points="0"></canvas></section>
<section class="panel half"><h2>Per-type progress</h2><table id="types"><thead><tr><th>type</th><th class="n">read</th><th class="n">loaded</th><th class="n">failed</th><th></th></tr></thead><tbody></tbody></table></section>
<section class="panel half"><h2>Recent failures</h2><table id="failures"><thead><tr><th>resource</th><th>status</th><th>reason</th></tr></thead><tbody></tbody></table></section>
<section class="panel half"><h2>Last verification</h2><div id="check" class="empty">none yet</div><h2 style="margin-top:14px">Failures by reason</h2><div id="reasons" class="empty">none</div></section>
</main>
<script>
"use strict";
const $=id=>document.getElementById(id);
const samples=[];let polls=0;
function esc(s){return String(s).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"})[c])}
function dur(s){if(s==null)return"\u2013";s=Math.max(0,Math.round(s));const d=Math.floor(s/86400),h=Math.floor(s%86400/3600),m=Math.floor(s%3600/60);
return d?d+"d "+h+"h":h?h+"h "+m+"m":m?m+"m "+(s%60)+"s":s+"s"}
function num(n){return Number(n).toLocaleString("en-US")}
function drawChart(){const c=$("chart"),g=c.getContext("2d"),W=c.width,H=c.height,p=28;
g.clearRect(0,0,W,H);g.strokeStyle="#2a3440";g.lineWidth=1;
for(let i=0;i<=4;i++){const y=p/2+(H-p)*i/4;g.beginPath();g.moveTo(p,y);g.lineTo(W,y);g.stroke()}
const max=Math.max(1,...samples.map(s=>s.rate));g.fillStyle="#8a97a5";g.font="11px sans-serif";
g.fillText(Math.round(max),2,p/2+4);g.fillText("0",2,H-p/2);
if(samples.length<2){g.fillText("collecting samples\u2026",p+8,H/2);c.dataset.points=samples.length;return}
const t0=samples[0].t,t1=samples[samples.length-1].t,span=Math.max(1,t1-t0);
const X=t=>p+(W-p-4)*(t-t0)/span,Y=v=>H-p/2-(H-p)*v/max;
g.beginPath();g.moveTo(X(t0),Y(0));for(const s of samples)g.lineTo(X(s.t),Y(s.rate));g.lineTo(X(t1),Y(0));g.closePath();
g.fillStyle="rgba(58,143,217,.25)";g.fill();g.beginPath();samples.forEach((s,i)=>i?g.lineTo(X(s.t),Y(s.rate)):g.moveTo(X(s.t),Y(s.rate)));
g.strokeStyle="#3a8fd9";g.lineWidth=2;g.stroke();c.dataset.points=samples.length}
function render(s){polls++;
const st=$("state");st.textContent=s.halted?"HALTED":"running";st.className=s.halted?"halted":"";
$("updated").textContent="updated "+new Date().toLocaleTimeString()+" \u00b7 server time "+s.now;
$("watermark").textContent=s.watermark?s.watermark.replace("T"," ").replace(/\.\d+Z$|Z$/," UTC"):"none yet";
$("start").textContent=s.start?"from "+s.start:"";$("lag").textContent=dur(s.lag_seconds);
let loaded=0,exported=0,failed=0;for(const t of s.types){loaded+=t.loaded;exported+=t.extracted;failed+=t.failed}
const now=Date.parse(s.now)/1000,last=samples[samples.length-1];
const tp=s.throughput||{windows:0,resources_per_second:0,span_seconds:60};
let delta=0;if(last&&now>last.t)delta=Math.max(0,(loaded-last.loaded)/(now-last.t));
if(!last||now>last.t){samples.push({t:now,loaded,rate:delta});if(samples.length>300)samples.shift()}
const rate=tp.resources_per_second;$("rate").textContent=rate.toFixed(rate<10?1:0);
$("rate-sub").textContent="resources/s \u00b7 "+(tp.windows?"windows loaded in the last "+dur(tp.span_seconds)+", over the time they were in flight":"no window loaded in the last "+dur(tp.span_seconds));
$("loaded").textContent=num(loaded);$("loaded-sub").textContent=num(exported)+" read \u00b7 "+num(failed)+" failed";
const tl=$("timeline");tl.innerHTML=s.timeline.map(w=>'<div class="'+esc(w.state)+'" title="#'+w.id+" "+esc(w.since)+" .. "+esc(w.till)+
" \u2014 "+esc(w.state)+", "+w.loaded+"/"+w.extracted+' loaded"></div>').join("");tl.dataset.windows=s.timeline.length;
const w=s.windows;$("window-counts").textContent=w.total+" windows: "+w.loaded+" done, "+(w.extracting+w.extracted)+" extracting, "+w.loading+" loading, "+w.planned+" planned, "+w.failed+" failed";
$("types").tBodies[0].innerHTML=s.types.length?s.types.map(t=>{const pct=t.extracted?Math.min(100,100*(t.loaded+t.failed)/t.extracted):0;
return"<tr><td>"+esc(t.type)+'</td><td class="n">'+num(t.extracted)+'</td><td class="n">'+num(t.loaded)+'</td><td class="n'+(t.failed?" bad":"")+'">'+num(t.failed)+
'</td><td><div class="bar"><span style="width:'+pct.toFixed(1)+'%"></span></div></td></tr>'}).join(""):'<tr><td colspan="5" class="empty">nothing loaded yet</td></tr>';
const f=s.failures;$("failures").tBodies[0].innerHTML=f.recent&&f.recent.length?f.recent.map(x=>"<tr><td>"+esc(x.type+"/"+x.id)+"</td><td>"+x.http_status+"</td><td>"+esc(x.reason)+"</td></tr>").join(""):
'<tr><td colspan="3" class="empty">no failures</td></tr>';
$("reasons").innerHTML=f.by_reason.length?f.by_reason.map(r=>"<div><b>"+r.count+"</b> \u00d7 "+esc(r.reason)+"</div>").join(""):"none";
$("reasons").className=f.by_reason.length?"bad":"empty";
const c=s.last_check;$("check").innerHTML=c?'<span class="'+(c.passed?"good":"bad")+'">'+(c.passed?"passed":"FAILED")+"</span> \u2014 "+esc(c.kind)+" check at "+esc(c.at):"none yet";
$("check").className=c?"":"empty";drawChart();document.body.dataset.polls=polls}
async function poll(){try{const r=await fetch("status.json",{cache:"no-store"});if(!r.ok)throw new Error("status.json: HTTP "+r.status);
render(await r.json());$("error").style.display="none"}catch(e){$("error").textContent="cannot read status: "+e.message;$("error").style.display="block";
$("state").textContent="stale";$("state").className="stale"}finally{setTimeout(poll,1000)}}
poll();
</script></body></html>
)FMHTML";
  return html;
}

}  // namespace fm::server

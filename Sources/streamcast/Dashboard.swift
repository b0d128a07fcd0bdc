import Foundation
import Hummingbird
import Monitoring

/// The service's monitor, for the HTTP thread (set once the pipeline exists).
final class MonitorHandle: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ForecastMonitor?
    var monitor: ForecastMonitor? {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}

/// JSON endpoints of the drift monitor and the dashboard page that draws them (issue 6).
enum Dashboard {
    static func routes(_ router: Router<BasicRequestContext>, handle: MonitorHandle) {
        router.get("/api/fleet") { request, _ -> Response in
            let key = request.uri.queryParameters.get("scope") ?? "global"
            guard let view = handle.monitor?.view(scope: key) else { return json(["error": "no forecasts scored yet for \(key)"], status: .notFound) }
            return json(view)
        }
        router.get("/api/scopes") { _, _ -> Response in json(handle.monitor?.scopeKeys ?? []) }
        router.get("/api/top") { request, _ -> Response in
            let n = request.uri.queryParameters.get("n").flatMap { Int($0) } ?? 20
            return json(handle.monitor?.topDrifting(min(max(n, 1), 1000)) ?? [])
        }
        router.get("/api/product/:id") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let view = handle.monitor?.product(id) else { return json(["error": "unknown product \(id)"], status: .notFound) }
            return json(view)
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// One self-contained page: no external scripts, polls the JSON endpoints every 5 s.
    static let page = """
    <!doctype html><html><head><meta charset="utf-8"><title>StreamCast — forecast drift</title>
    <style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:24px}
    table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
    th:first-child,td:first-child{text-align:left}.alarm{color:#b00;font-weight:600}svg{background:#fafafa;border:1px solid #eee}</style></head>
    <body><h1>StreamCast — forecast drift</h1><div id="status">waiting for scored forecasts…</div>
    <h2>Fleet calibration (rolling window): nominal vs realised coverage</h2><div id="calibration"></div>
    <h2>wQL and bias per period</h2><svg id="series" width="720" height="200"></svg>
    <h2>Top drifting products <small>(click one)</small></h2><table id="top"></table>
    <h2>Product <span id="pname"></span></h2><div id="pinfo"></div><svg id="fan" width="720" height="220"></svg>
    <script>
    async function get(u){const r=await fetch(u);return r.ok?r.json():null}
    function line(vals,color,h,w,lo,hi){if(!vals.length)return'';const dx=w/Math.max(vals.length-1,1);
      return '<polyline fill="none" stroke="'+color+'" stroke-width="2" points="'+vals.map((v,i)=>(i*dx).toFixed(1)+','+(h-(v-lo)/(hi-lo||1)*h).toFixed(1)).join(' ')+'"/>'}
    async function refresh(){
      const f=await get('/api/fleet');if(!f)return;
      document.getElementById('status').textContent='window: '+f.periods.length+' periods, '+f.cells+' scored forecasts; mean wQL '+f.windowWQL.toFixed(4)+
        ', bias '+f.windowBias.toFixed(3)+', volatility '+f.windowVolatility.toFixed(4)+'; active fleet alerts: '+(f.activeAlerts.join(', ')||'none');
      document.getElementById('calibration').innerHTML='<table><tr><th>quantile</th><th>nominal</th><th>realised</th></tr>'+
        f.quantiles.map((q,j)=>'<tr><td>P'+Math.round(q*100)+'</td><td>'+q.toFixed(2)+'</td><td class="'+(Math.abs(f.windowCoverage[j]-q)>0.05?'alarm':'')+'">'+f.windowCoverage[j].toFixed(3)+'</td></tr>').join('')+'</table>';
      const hi=Math.max(...f.wql,...f.bias.map(Math.abs),0.1);
      document.getElementById('series').innerHTML=line(f.wql,'#1f77b4',200,720,-hi,hi)+line(f.bias,'#d62728',200,720,-hi,hi)+
        '<line x1="0" x2="720" y1="100" y2="100" stroke="#999"/><text x="8" y="16" fill="#1f77b4">wQL</text><text x="50" y="16" fill="#d62728">bias</text>';
      const top=await get('/api/top?n=15')||[];
      document.getElementById('top').innerHTML='<tr><th>product</th><th>bias (EWMA)</th><th>coverage</th><th>periods</th><th>alert</th></tr>'+
        top.map(p=>'<tr onclick="show(\\''+p.product+'\\')" style="cursor:pointer"><td>'+p.product+'</td><td>'+p.bias.toFixed(3)+'</td><td>'+p.coverage.map(c=>c.toFixed(2)).join(' / ')+'</td><td>'+p.observed+
        '</td><td class="alarm">'+(p.alarmed?'drifting':'')+'</td></tr>').join('');
      if(!current&&top.length)current=top[0].product;
      if(current)show(current)}
    let current=null;
    function poly(pts){return pts.map(p=>p[0].toFixed(1)+','+p[1].toFixed(1)).join(' ')}
    async function show(id){current=id;const p=await get('/api/product/'+encodeURIComponent(id));if(!p)return;
      document.getElementById('pname').textContent=id;
      document.getElementById('pinfo').textContent='bias '+p.bias.toFixed(3)+', coverage '+p.coverage.map(c=>c.toFixed(2)).join(' / ')+(p.alarmed?' — drifting':'')+
        '. Past: actuals (dots) in the one-step P10–P90 band; right of the line: the current forecast, P50 and P10–P90.';
      const past=p.pastQuantiles||[],act=p.actuals||[],fc=p.forecast||[],n=past.length+fc.length,W=720,H=220;
      const hi=Math.max(1,...act,...past.flat(),...fc.flat())*1.1,x=i=>i*W/Math.max(n-1,1),y=v=>H-v/hi*H;
      const lo=(r)=>r[0],up=(r)=>r[r.length-1],mid=(r)=>r[Math.floor(r.length/2)];
      let svg='';
      if(past.length)svg+='<polygon fill="#cfe3f5" points="'+poly(past.map((r,i)=>[x(i),y(up(r))]).concat(past.map((r,i)=>[x(i),y(lo(r))]).reverse()))+'"/>';
      if(fc.length)svg+='<polygon fill="#f7d7b5" points="'+poly(fc.map((r,k)=>[x(past.length+k),y(up(r))]).concat(fc.map((r,k)=>[x(past.length+k),y(lo(r))]).reverse()))+'"/>'+
        '<polyline fill="none" stroke="#e67e22" stroke-width="2" points="'+poly(fc.map((r,k)=>[x(past.length+k),y(mid(r))]))+'"/>';
      svg+=act.map((v,i)=>'<circle r="3" fill="#222" cx="'+x(i).toFixed(1)+'" cy="'+y(v).toFixed(1)+'"/>').join('');
      svg+='<line x1="'+x(past.length-0.5)+'" x2="'+x(past.length-0.5)+'" y1="0" y2="'+H+'" stroke="#999" stroke-dasharray="4"/>';
      document.getElementById('fan').innerHTML=svg}
    refresh();setInterval(refresh,5000);
    </script></body></html>
    """
}

// mt-trafmon page: canvas graph, live readout, view state in the URL; endpoints: README.md "URLs and JSON endpoints"
'use strict';(()=>{
const D=document,W=window,H=history,$=i=>D.getElementById(i),M=Math,R=M.round,
PR={'5m':300,'15m':900,'1h':3600,'6h':21600,'24h':86400,'7d':604800,'30d':2592000,'1y':31557600,'5y':157788000,'10y':315576000},PK=Object.keys(PR),
ML=58,MR=14,MT=20,MB=24,MN='Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' '),
PL={dark:{bg:'#1a1d26',gr:'#404858',mg:'#606878',fo:'#e0e4ee',ax:'#808898'},classic:{bg:'#ffffff',gr:'#e2e5ea',mg:'#c4c9d2',fo:'#1a1f2b',ax:'#6b7280'}},
cv=$('cv'),gw=$('gw'),sel=$('sel'),xh=$('xh'),tt=$('tt'),er=$('er'),rg=$('rg'),sy=$('sy'),rf=$('rf'),ifs=$('if'),lv=$('lv');
let S,IF=[],ST='dark',off=0,d=null,LQ=0,FG=0,RT=0,LT=0,dr=null,tip=null;
const isI=v=>v!=null&&/^\s*[-+]?\d+\s*$/.test(v),
p2=n=>String(n).padStart(2,'0'),
ft=(t,f)=>{const a=new Date(t*1e3);return(f?'':a.getFullYear()+'-'+p2(a.getMonth()+1)+'-'+p2(a.getDate())+' ')+p2(a.getHours())+':'+p2(a.getMinutes())+':'+p2(a.getSeconds())},
fb=v=>v==null?'—':v>=1e9?(v/1e9).toFixed(2)+' Gbit/s':v>=1e6?(v/1e6).toFixed(2)+' Mbit/s':v>=1e3?(v/1e3).toFixed(1)+' kbit/s':R(v)+' bit/s',
fy=v=>{if(v==null)return'—';const k=M.min(4,M.max(0,M.floor(M.log10(M.max(v,1))/3)));return(v/1e3**k).toFixed(k?2:0)+' '+['','k','M','G','T'][k]+'B'},
si=v=>{if(!v)return'0';const a=M.abs(v),k=M.min(4,M.max(0,M.floor(M.log10(a)/3+1e-9)));return(v<0?'−':'')+ +(a/1e3**k).toPrecision(3)+(k?' '+'kMGT'[k-1]:'')},
fd=s=>{const f=(v,u)=>+v.toFixed(1)+' '+u;return s<60?s+' s':s<3600?f(s/60,'min'):s<86400?f(s/3600,'h'):f(s/86400,'d')},
now=()=>Date.now()/1e3+off,
ls=(k,v)=>{try{return v?localStorage.setItem(k,v):localStorage.getItem(k)}catch(x){}},thm=()=>S.th||ls('mt-theme')||ST;
function parse(q){const p=new URLSearchParams(q),g=k=>{const a=p.getAll(k);return a.length?a[a.length-1]:null},
I=(k,lo,hi,df)=>{const v=g(k);return isI(v)?M.min(hi,M.max(lo,+v)):df},r=g('range'),s=g('start'),e=g('end'),y=g('style'),o={r:PR[r]?r:'1h'};
if(isI(s)&&isI(e)&&+e>+s){o.r='custom';o.s=+s;o.e=+e}
o.w=I('width',300,4000,1200);o.h=I('height',150,2000,420);o.st=['line','mirror'].includes(y)?y:'area';
o.lg=g('log')==='1';o.sm=g('smooth')==='1';o.vo=g('volume')!==null?g('volume')==='1':true;
o.rf=[5,30,60].includes(+g('refresh'))&&isI(g('refresh'))?+g('refresh'):0;o.i=g('iface');
o.th=['dark','classic'].includes(g('theme'))?g('theme'):null;return o}
function qs(o,x){const p=new URLSearchParams();o.r==='custom'?(p.set('start',o.s),p.set('end',o.e)):p.set('range',o.r);
if(o.i)p.set('iface',o.i);if(!x){o.w!==1200&&p.set('width',o.w);o.h!==420&&p.set('height',o.h)}
o.st!=='area'&&p.set('style',o.st);o.lg&&p.set('log',1);o.sm&&p.set('smooth',1);p.set('volume',o.vo?1:0);
if(x)return p;o.rf&&p.set('refresh',o.rf);const t=thm();t!==ST&&p.set('theme',t);return p}
const url=()=>location.pathname+'?'+qs(S),
win=()=>{if(S.r==='custom')return[S.s,S.e];const e=M.ceil(now());return[e-PR[S.r],e]},
geo=()=>{const cw=cv.getBoundingClientRect().width||gw.clientWidth||300,ch=S.h;return{cw,ch,x:ML,y:MT,pw:M.max(10,cw-ML-MR),ph:M.max(10,ch-MT-MB)}},
mk=(s,e)=>{s=R(s);e=R(e);const n=M.ceil(now()),sp=e-s;if(e>=n-1){e=n;s=n-sp;const k=PK.find(k=>PR[k]===sp);if(k)return{r:k}}return{r:'custom',s,e}};
function go(o,push){S=Object.assign({},S,o);if(S.r!=='custom'){delete S.s;delete S.e}
const dp=(H.state&&H.state.d)|0;push?H.pushState({d:dp+1},'',url()):H.replaceState({d:dp},'',url());sync();load(0);sched()}
function sync(){const c=thm()==='classic';D.documentElement.classList.toggle('cl',c);$('th').textContent=c?'Dark':'Classic';
D.documentElement.style.setProperty('--mw',S.w+26+'px');cv.style.height=S.h+'px';
rg.value=S.r;rg.options[10].hidden=S.r!=='custom';sy.value=S.st;sy.options[2].disabled=S.lg;rf.value=S.rf;
$('sm').checked=S.sm;$('lg').checked=S.lg;$('vo').checked=S.vo;if(S.i&&IF.some(f=>f.id===S.i))ifs.value=S.i;
$('zb').disabled=!((H.state&&H.state.d)>0);$('nw').disabled=S.r!=='custom'}
async function gj(u){const r=await fetch(u,AbortSignal.timeout?{signal:AbortSignal.timeout(8e3)}:{});let j;try{j=await r.json()}catch(x){throw Error('Bad answer from the server (HTTP '+r.status+')')}if(!r.ok)throw Error(j.error||'HTTP '+r.status);return j}
async function load(inc){const[s,e]=win(),g=geo(),n=M.min(1e4,M.max(1,R(g.pw))),k=[S.i,n,S.r==='custom'?s:e-s].join('|'),q=++LQ,
ok=inc===1&&d&&d.k===k&&d.lu!=null;let u='/api/series?start='+s+'&end='+e+'&points='+n+(S.i?'&iface='+encodeURIComponent(S.i):'');
if(ok)u+='&since='+(d.lu-d.lu%d.st-d.st);let j;
try{j=await gj(u)}catch(x){if(q===LQ){er.textContent=x.name==='TimeoutError'?'The server did not answer in time.':x.name==='TypeError'?'Server unreachable.':x.message;er.hidden=false}return}
if(q!==LQ)return;er.hidden=true;off=j.now-Date.now()/1e3;if(S.r!=='custom'&&!inc&&M.abs(e-j.now)>M.max(5,(e-s)/200))return load(2);
const N=R((j.end-j.start)/j.step),A=()=>new Array(N).fill(null),pk=Array.isArray(j.rx_peak),
x={k,vs:s,ve:e,n,st:j.step,t0:j.start,lu:j.last_update,sm:j.summary,pr:j.peak_resolution,pe:j.peak_exact,rx:A(),tx:A(),rp:pk?A():null,tp:pk?A():null};
if(ok&&(d.st!==j.step||!d.rp!==!pk))return load(0);
const put=(o,b,f)=>{for(let i=0;i<(o.rx||[]).length;i++){const m=R((b+i*x.st-x.t0)/x.st);if(m<0||m>=N||!f(b+i*x.st))continue;
x.rx[m]=o.rx[i];x.tx[m]=o.tx[i];if(pk){x.rp[m]=o.rp?o.rp[i]:o.rx_peak[i];x.tp[m]=o.tp?o.tp[i]:o.tx_peak[i]}}};
if(ok)put(d,d.t0,t=>t<j.t0);put(j,j.t0,()=>1);d=x;FG||performance.mark('mt-data');draw();legend();if(!FG){FG=1;performance.mark('mt-first-graph')}cv.dataset.ld=(+cv.dataset.ld|0)+1}
function sched(){clearTimeout(RT);if(S.rf)RT=setTimeout(()=>{(S.r!=='custom'||!d||d.lu==null||d.lu<S.e?load(1):Promise.resolve()).finally(sched)},S.rf*1e3)}
function sma(a){const k=M.ceil(60/d.st);if(k<2)return a;const o=[];let s=0,c=0;
for(let i=0;i<a.length;i++){if(a[i]!=null){s+=a[i];c++}if(i>=k&&a[i-k]!=null){s-=a[i-k];c--}o.push(a[i]==null||!c?null:s/c)}return o}
function nice(x){const p=10**M.floor(M.log10(x)),f=x/p;return p*(f<=1?1:f<=2?2:f<=2.5?2.5:f<=5?5:10)}
function tticks(vs,ve,pw){const sp=ve-vs,mn=sp*75/pw,o=[],TS=[1,2,5,10,15,30,60,120,300,600,900,1800,3600,7200,10800,21600,43200,86400,172800,604800],st=TS.find(x=>x>=mn);
if(st&&st<86400){const z=-new Date(vs*1e3).getTimezoneOffset()*60;for(let t=M.ceil((vs+z)/st)*st-z;t<=ve;t+=st){const a=new Date(t*1e3);
o.push([t,st<60?ft(t,1):a.getHours()||a.getMinutes()?p2(a.getHours())+':'+p2(a.getMinutes()):a.getDate()+' '+MN[a.getMonth()]])}}
else if(st){const a=new Date(vs*1e3);a.setHours(0,0,0,0);if(st===604800)a.setDate(a.getDate()-(a.getDay()+6)%7);for(;a/1e3<=ve;a.setDate(a.getDate()+st/86400))a/1e3>=vs&&o.push([a/1e3,a.getDate()+' '+MN[a.getMonth()]])}
else{const m=[1,2,3,6,12,24,60,120,240].find(m=>m*2629800>=mn)||480,a=new Date(vs*1e3);a.setHours(0,0,0,0);a.setDate(1);
const q=a.getFullYear()*12+a.getMonth();a.setMonth(a.getMonth()-q%m);for(;a/1e3<=ve;a.setMonth(a.getMonth()+m))a/1e3>=vs&&o.push([a/1e3,a.getMonth()?MN[a.getMonth()]:''+a.getFullYear()])}return o}
function draw(){const g=geo(),r=W.devicePixelRatio||1,c=cv.getContext('2d'),P=PL[thm()];cv.width=R(g.cw*r);cv.height=R(g.ch*r);c.setTransform(r,0,0,r,0,0);
c.fillStyle=P.bg;c.fillRect(0,0,g.cw,g.ch);Object.assign(cv.dataset,{px:g.x,py:g.y,pw:g.pw,ph:g.ph});if(!d)return;
const{vs,ve}=d,X=t=>g.x+(t-vs)/(ve-vs)*g.pw,mir=S.st==='mirror'&&!S.lg,sty=S.st==='mirror'&&S.lg?'area':S.st,
rx=S.sm?sma(d.rx):d.rx,tx=S.sm?sma(d.tx):d.tx,mx=a=>{let m=0;if(a)for(const v of a)if(v>m)m=v;return m},
ti=[];let top=M.max(mx(rx),mx(d.rp),mir?0:M.max(mx(tx),mx(d.tp))),bot=mir?M.max(mx(tx),mx(d.tp)):0,Y,B;
Object.assign(cv.dataset,{vs,ve,step:d.st,t0:d.t0,n:d.n,lu:d.lu});
if(S.lg){const hi=M.max(1,M.ceil(M.log10(M.max(top,10)))),k=M.ceil(hi/M.max(1,M.floor(g.ph/24)));Y=v=>g.y+g.ph*(1-M.log10(M.max(v,1))/hi);B=g.y+g.ph;for(let e=0;e<=hi;e+=k)ti.push(10**e)}
else{if(!top&&!bot)top=1e3;const u=nice((top+bot)/M.max(2,M.floor(g.ph/45)));top=M.ceil(top/u)*u;bot=M.ceil(bot/u)*u;
Y=v=>g.y+(top-v)/(top+bot)*g.ph;B=Y(0);cv.dataset.top=top;for(let i=-R(bot/u);i<=R(top/u);i++)ti.push(i*u)}
c.font='11px system-ui,sans-serif';c.lineWidth=1;c.textBaseline='middle';c.textAlign='right';
for(const v of ti){const y=R(Y(v))+.5;c.strokeStyle=P.gr;c.beginPath();c.moveTo(g.x,y);c.lineTo(g.x+g.pw,y);c.stroke();c.fillStyle=P.fo;c.fillText(si(v),g.x-6,y)}
c.textAlign='center';c.textBaseline='top';for(const[t,l]of tticks(vs,ve,g.pw)){const x=R(X(t))+.5;c.strokeStyle=P.gr;c.beginPath();c.moveTo(x,g.y);c.lineTo(x,g.y+g.ph);c.stroke();
c.fillStyle=P.fo;c.fillText(l,M.min(g.cw-c.measureText(l).width/2-2,M.max(c.measureText(l).width/2+2,x)),g.y+g.ph+6)}
c.textAlign='left';c.fillStyle=P.ax;c.fillText('bit/s',4,2);c.strokeStyle=P.mg;c.strokeRect(g.x+.5,g.y+.5,g.pw-1,g.ph-1);
const pa=(a,ng,ar)=>{const p=new Path2D();let on=0,lx=0;for(let i=0;i<a.length;i++){const v=a[i],x0=X(d.t0+i*d.st),x1=X(d.t0+(i+1)*d.st);
if(v==null){on&&ar&&p.lineTo(lx,B);on=0;continue}const y=Y(ng?-v:v);if(!on){ar?(p.moveTo(x0,B),p.lineTo(x0,y)):p.moveTo(x0,y);on=1}else p.lineTo(x0,y);p.lineTo(x1,y);lx=x1}
on&&ar&&p.lineTo(lx,B);return p},bd=(a,q,ng)=>{const p=new Path2D(),n=a.length,x=k=>X(d.t0+k*d.st);for(let i=0,j;i<n;i=j){j=i+1;if(a[i]==null||q[i]==null)continue;while(j<n&&a[j]!=null&&q[j]!=null)j++;
for(let k=i;k<j;k++){const y=Y(ng?-q[k]:q[k]);k>i?p.lineTo(x(k),y):p.moveTo(x(k),y);p.lineTo(x(k+1),y)}for(let k=j-1;k>=i;k--){const y=Y(ng?-a[k]:a[k]);p.lineTo(x(k+1),y);p.lineTo(x(k),y)}p.closePath()}return p},F=(p,f)=>{c.fillStyle=f;c.fill(p)},L=(p,s,w)=>{c.strokeStyle=s;c.lineWidth=w;c.stroke(p)};
c.save();c.beginPath();c.rect(g.x,g.y,g.pw,g.ph);c.clip();c.lineJoin='round';
if(d.rp){F(bd(d.rx,d.rp,0),'rgba(0,204,102,.3)');F(bd(d.tx,d.tp,mir),'rgba(51,153,255,.3)')}
if(sty==='line'){L(pa(rx,0),'#00cc66',2);L(pa(tx,0),'#3399ff',2)}
else{const o=mir?'':'b0';F(pa(rx,0,1),'#99e6bb'+o);L(pa(rx,0),'#00aa55',1);F(pa(tx,mir,1),'#b3d9ff'+o);L(pa(tx,mir),'#2277cc',1)}
if(mir){c.strokeStyle='#666666';c.lineWidth=1;c.beginPath();c.moveTo(g.x,R(B)+.5);c.lineTo(g.x+g.pw,R(B)+.5);c.stroke()}c.restore();
$('inf').textContent=fd(d.st)+'/point'+(d.rp?d.pe?' · true 1 s peaks':' · peaks partly from '+fd(d.pr)+' averages':'')+' · drag to zoom';
$('wn').textContent=ft(vs)+' → '+ft(ve);if(tip!=null)tsh(tip)}
function legend(){const l=$('lgd'),m=d.sm||{};l.textContent='';const E=(t,c,x)=>{const e=D.createElement(t);if(c)e.className=c;if(x!=null)e.textContent=x;return e};
for(const[n,k,c]of[['RX','rx','x'],['TX','tx','y']]){const r=E('div');r.dataset.d=k;const G=(t,v)=>{const g=E('i');g.append(E('span',0,t),' '+v);r.append(' ',g)};r.append(E('b',c),n);G('avg',fb(m[k+'_avg']));G('peak',fb(m[k+'_peak']));
S.vo&&G('vol',fy(m[k+'_bytes']));l.append(r)}
if(m.known!=null&&m.known<1){const r=E('div');r.dataset.d='known';r.append(E('span',0,'known'),' '+(m.known*100).toFixed(1)+' %');l.append(r)}}
const cx=e=>e.clientX-cv.getBoundingClientRect().left,cl=x=>{const g=geo();return M.min(g.x+g.pw,M.max(g.x,x))},tx=x=>{const g=geo();return d.vs+(x-g.x)/g.pw*(d.ve-d.vs)};
function tsh(x){const g=geo();if(!d||x<g.x||x>g.x+g.pw)return thd();tip=x;const t=tx(x),i=M.ceil((t-d.t0)/d.st)-1,v=a=>a&&i>=0&&i<a.length?a[i]:null,rp=d.rp||d.rx,tp=d.tp||d.tx;
tt.textContent=ft(d.t0+(i+1)*d.st)+' ('+fd(d.st)+')\nRX '+fb(v(d.rx))+'  peak '+fb(v(rp))+'\nTX '+fb(v(d.tx))+'  peak '+fb(v(tp));tt.dataset.i=i;
xh.hidden=tt.hidden=false;xh.style.left=x+'px';xh.style.top=g.y+'px';xh.style.height=g.ph+'px';
const w=tt.offsetWidth;tt.style.left=(x+12+w>g.cw?M.max(0,x-12-w):x+12)+'px';tt.style.top=g.y+8+'px'}
function thd(){tip=null;xh.hidden=tt.hidden=true}
cv.addEventListener('pointerdown',e=>{if(!d||e.button)return;const x=cx(e);dr={x0:cl(x),x:x,id:e.pointerId,m:e.pointerType};cv.setPointerCapture(e.pointerId)});
cv.addEventListener('pointermove',e=>{const x=cx(e);if(dr&&dr.id===e.pointerId){dr.x=x;const a=M.min(dr.x0,cl(x)),b=M.max(dr.x0,cl(x)),g=geo();
if(b-a>2){sel.hidden=false;sel.style.left=a+'px';sel.style.width=b-a+'px';sel.style.top=g.y+'px';sel.style.height=g.ph+'px'}}if(e.pointerType==='mouse'||!dr)tsh(x)});
cv.addEventListener('pointerup',e=>{if(!dr||dr.id!==e.pointerId)return;const a=M.min(dr.x0,cl(dr.x=cx(e))),b=M.max(dr.x0,cl(dr.x));sel.hidden=true;const m=dr.m;dr=null;
if(b-a>=12&&tx(b)-tx(a)>=1){thd();go({r:'custom',s:R(tx(a)),e:R(tx(b))},1)}else if(m!=='mouse')tsh(cx(e))});
cv.addEventListener('pointercancel',()=>{dr=null;sel.hidden=true});cv.addEventListener('pointerleave',e=>{e.pointerType==='mouse'&&!dr&&thd()});
const vw=()=>S.r!=='custom'&&d&&d.ve-d.vs===PR[S.r]?[d.vs,d.ve]:win(),zo=f=>{if(!d)return;const[s,e]=vw(),c=(s+e)/2,h=(e-s)*f/2;h>=1&&go(mk(c-h,c+h),1)},pan=f=>{const[s,e]=vw(),k=(e-s)*f;go(mk(s+k,e+k),1)},
nw=()=>{const[s,e]=vw();go({r:PK.find(k=>PR[k]>=e-s)||'10y'},1)},bk=()=>{H.state&&H.state.d>0&&H.back()},
tg=()=>{const t=thm()==='classic'?'dark':'classic';ls('mt-theme',t);S.th=t===ST?null:t;H.replaceState(H.state,'',url());sync();draw()},
flash=(b,ok)=>{const t=b.dataset.t||(b.dataset.t=b.textContent);b.textContent=ok?'✓ Copied':'Select & copy manually';b.classList.toggle('ok',ok);clearTimeout(b.T);b.T=setTimeout(()=>{b.textContent=t;b.classList.remove('ok')},2e3)};
async function cp(t,b){let ok=0;try{await navigator.clipboard.writeText(t);ok=1}catch(x){}
if(!ok){const a=D.createElement('textarea');a.value=t;a.readOnly=true;a.className='hid';D.body.append(a);a.select();try{ok=D.execCommand('copy')}catch(x){}a.remove()}
const m=$('mc');m.value=t;m.hidden=!!ok;ok||m.select();b.dataset.c=t;flash(b,!!ok)}
$('cl').addEventListener('click',e=>cp(location.href,e.currentTarget));
$('cr').addEventListener('click',async e=>{const b=e.currentTarget,p=qs(S,1),g=geo();p.set('width',R(g.pw));p.set('height',R(g.ph));p.set('theme',thm());
try{cp((await gj('/api/rrdtool?'+p)).command,b)}catch(x){er.textContent=x.message;er.hidden=false}});
rg.addEventListener('change',()=>rg.value!=='custom'&&go({r:rg.value},1));sy.addEventListener('change',()=>go({st:sy.value}));rf.addEventListener('change',()=>go({rf:+rf.value}));
ifs.addEventListener('change',()=>go({i:ifs.value},1));for(const k of['sm','lg','vo'])$(k).addEventListener('change',e=>go({[k]:e.target.checked}));
$('pe').addEventListener('click',()=>pan(-.5));$('pl').addEventListener('click',()=>pan(.5));$('zo').addEventListener('click',()=>zo(2));$('zb').addEventListener('click',bk);$('nw').addEventListener('click',nw);$('th').addEventListener('click',tg);
D.addEventListener('keydown',e=>{const t=e.target.tagName;if(e.ctrlKey||e.metaKey||e.altKey||/INPUT|SELECT|TEXTAREA/.test(t))return;const k=e.key,i='1234567890'.indexOf(k);let
f={ArrowLeft:()=>pan(-.5),ArrowRight:()=>pan(.5),'-':()=>zo(2),'+':()=>zo(.5),'=':()=>zo(.5),Backspace:bk,u:bk,n:nw,t:tg,r:()=>load(0),Escape:thd}[k];
if(i>=0&&k!==' ')f=()=>go({r:PK[i]},1);if(f){e.preventDefault();f()}});
W.addEventListener('popstate',()=>{S=parse(location.search);sync();load(0);sched()});
let RZ;new ResizeObserver(()=>{draw();clearTimeout(RZ);RZ=setTimeout(()=>{d&&R(geo().pw)!==d.n&&load(0)},250)}).observe(gw);
async function live(){let j;clearTimeout(LT);try{j=await gj('/api/live')}catch(x){const u=/TypeError|TimeoutError/.test(x.name);lv.dataset.h='down';$('lt').textContent=u?'server unreachable':x.message;$('ls').textContent='';lv.title=u?'The web server could not be reached':x.message;LT=setTimeout(live,2e3);return}off=j.now-Date.now()/1e3;
const f=j.interfaces.find(f=>f.id===(S.i||(IF[0]||{}).id))||j.interfaces[0]||{},a=f.ts==null?null:j.now-f.ts,h=a==null?'none':a<5?'ok':a<30?'warn':'stale',
s=a==null?'No data yet':a<5?'Live':a<30?R(a)+' s ago':'Stale — '+R(a)+' s ago';lv.dataset.h=h;lv.dataset.age=a==null?'':a;
$('lt').textContent='⬇ RX '+fb(f.rx)+' ⬆ TX '+fb(f.tx);$('ls').textContent=f.ts==null?s:s+' · '+ft(f.ts,1);lv.title=s+(f.error?' — '+f.error:'');LT=setTimeout(live,2e3)}
S=parse(location.search);H.replaceState({d:(H.state&&H.state.d)|0},'',url());sync();load(0);sched();live();
gj('/api/interfaces').then(j=>{ST=j.theme==='classic'?'classic':'dark';if(S.th===ST)S.th=null;D.title=$('ti').textContent=j.title;IF=j.interfaces||[];ifs.textContent='';
for(const f of IF){const o=D.createElement('option');o.value=f.id;o.textContent=(f.label||f.name)+(f.label&&f.label!==f.name?' ('+f.router+'/'+f.name+')':' ('+f.router+')');ifs.append(o)}
$('ifw').hidden=IF.length<2;H.replaceState(H.state,'',url());sync();draw()},x=>{er.textContent=x.message;er.hidden=false})})()

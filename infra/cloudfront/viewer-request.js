// CloudFront Function, viewer request, runtime cloudfront-js-2.0.
//
// 1. Host form -> path form: "{org}.{RENDER_DOMAIN}/{stack}/..." becomes
//    "/{org}/{stack}/...". Any other host (RENDER_DOMAIN itself, the
//    distribution's *.cloudfront.net name) must already use the path form.
// 2. A client-supplied "~..." segment right after the org is dropped, so the
//    format token below cannot be forced (no cache-key poisoning).
// 3. For .jpg/.jpeg/.png renders, Accept is reduced to a token segment
//    "/{org}/~jxl-avif/...", "~jxl", "~avif" or "~webp", used by autoformat
//    (the same rule as chalicelib/render/url.py accept_token_for).
// 4. The Accept header is always removed; the querystring is never touched.
// 5. With a ?v= (rokka's variables), the uri gets "~v" + sha1(raw v)[0:16]
//    appended, so the S3 origin (which ignores query strings) can only answer
//    with the render of exactly these variables. A client-supplied "~v..."
//    suffix is removed first. The render Lambda checks the suffix the same way.
//
// ES5.1 style plus require('crypto'), which cloudfront-js-2.0 provides; no
// import/export, no timers, no Date, no eval. The packaging step replaces the
// placeholder below with the render domain, e.g. "images.example.com".

var RENDER_DOMAIN = '__RENDER_DOMAIN__';

var ORG_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
var RASTER_RE = /\.(?:jpe?g|png)$/i;
var FORCED_TOKEN_RE = /^(?:(?:~|%7e)[^\/]*(?:\/|$))+/i;
var V_SUFFIX_RE = /(?:~|%7e)v[0-9a-f]*$/i;
var crypto = require('crypto');

function formatToken(headers) {
    var accept = headers.accept ? String(headers.accept.value).toLowerCase() : '';
    if (accept.indexOf('image/jxl') !== -1) {
        return accept.indexOf('image/avif') !== -1 ? 'jxl-avif' : 'jxl';
    }
    if (accept.indexOf('image/avif') !== -1) {
        return 'avif';
    }
    if (accept.indexOf('image/webp') !== -1) {
        return 'webp';
    }
    return '';
}

function handler(event) {
    var request = event.request;
    var headers = request.headers;
    var uri = request.uri;

    var host = headers.host ? String(headers.host.value).toLowerCase() : '';
    host = host.replace(/:\d+$/, '');
    var suffix = '.' + RENDER_DOMAIN.toLowerCase();
    if (host.length > suffix.length
            && host.slice(host.length - suffix.length) === suffix) {
        var org = host.slice(0, host.length - suffix.length);
        if (ORG_RE.test(org)) {
            uri = '/' + org + uri;
        }
    }

    // uri is "/{org}/{rest}"; only touch it when there is a rest.
    var cut = uri.indexOf('/', 1);
    if (cut !== -1) {
        var head = uri.slice(0, cut + 1);
        var rest = uri.slice(cut + 1).replace(FORCED_TOKEN_RE, '');
        var token = RASTER_RE.test(rest) ? formatToken(headers) : '';
        uri = head + (token ? '~' + token + '/' : '') + rest;
    }

    uri = uri.replace(V_SUFFIX_RE, '');
    var v = request.querystring && request.querystring.v;
    if (v && typeof v.value === 'string') {
        uri += '~v' + crypto.createHash('sha1').update(v.value).digest('hex').slice(0, 16);
    }

    delete headers.accept;
    request.uri = uri;
    return request;
}

if (typeof module !== 'undefined') { module.exports = { handler: handler }; }

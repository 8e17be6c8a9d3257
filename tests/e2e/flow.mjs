// End-to-end flow: drives the local rokka clone with the official rokka.js client, following rokka's
// "upload an image" guide (sign up, upload with metadata, stacks, render URLs, download, delete).
//
//   node flow.mjs <server-url> <work-dir>
//
// <server-url> is the local server (http://127.0.0.1:<port>). <work-dir> must contain source.png,
// the image to upload. Rendered images are written to <work-dir>/renders/<name>.bin and the downloaded
// original to <work-dir>/download.bin; a JSON summary goes to stdout. A failing API call stops the flow
// with exit code 1 and a message naming the step on stderr; render statuses and expected rejections are
// only recorded (with a warning on stderr). The caller (test_rokkajs.py) decodes the files and asserts
// on the summary.
import { Rokka } from 'rokka'
import crypto from 'node:crypto'
import dns from 'node:dns'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'

const [serverArg, workDir] = process.argv.slice(2)
if (!serverArg || !workDir) {
  console.error('usage: node flow.mjs <server-url> <work-dir>')
  process.exit(2)
}
const server = new URL(serverArg)
const apiHost = server.origin
const port = server.port
const org = `e2e-${crypto.randomBytes(3).toString('hex')}`
const email = `${org}@example.org`
// rokka.js replaces {organization}; the local server routes http://{org}.localhost:<port>/... to renders.
const renderHost = `http://{organization}.localhost:${port}`
const pathRenderHost = `${apiHost}/render/{organization}`
const transport = { retries: 1, minTimeout: 100, maxTimeout: 200, randomize: false }

let step = 'start'
const summary = { org, email, apiHost, renderHost, pathRenderHost, renders: {} }

const sha1 = buf => crypto.createHash('sha1').update(buf).digest('hex')

function fail(message) {
  throw new Error(message)
}

function describe(err) {
  if (err && typeof err === 'object' && 'statusCode' in err) {
    // rokka.js rejects with its response object: { statusCode, body, message, ... }
    let body = err.body
    if (body && typeof body === 'object' && typeof body.pipe === 'function') body = '<stream>'
    return `HTTP ${err.statusCode} ${typeof body === 'string' ? body : JSON.stringify(body)}`
  }
  return err && err.stack ? err.stack : String(err)
}

// Runs one rokka.js call; on rejection the flow stops with the step name and the server's answer.
async function call(name, fn) {
  step = name
  try {
    return await fn()
  } catch (err) {
    fail(`${name}: rokka.js call failed: ${describe(err)}`)
  }
}

// A call that should be rejected; returns the HTTP status rokka.js saw.
async function rejected(name, fn) {
  step = name
  let result
  try {
    result = await fn()
  } catch (err) {
    if (err && typeof err === 'object' && 'statusCode' in err) {
      return { status: err.statusCode, body: err.body }
    }
    fail(`${name}: rejected without an HTTP status: ${describe(err)}`)
  }
  // Not fatal either: recorded for the caller's assertions.
  console.error(`warning: ${name}: expected an error, got HTTP ${result && result.statusCode}`)
  return { status: result && result.statusCode, body: result && result.body, resolved: true }
}

// *.localhost is loopback (RFC 6761) and browsers resolve it so; glibc's resolver often does not.
function localhostLookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options
    options = {}
  }
  if (/(^|\.)localhost$/i.test(hostname)) {
    if (options && options.all) return callback(null, [{ address: '127.0.0.1', family: 4 }])
    return callback(null, '127.0.0.1', 4)
  }
  return dns.lookup(hostname, options, callback)
}

function httpGet(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { lookup: localhostLookup, headers: { Accept: '*/*' }, timeout: 15000 }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout fetching ${url}`)))
    req.on('error', reject)
  })
}

// Fetches a render URL, stores the body and records what came back.
async function render(name, url, { expect = 200 } = {}) {
  step = `render ${name}`
  let res
  try {
    res = await httpGet(url)
  } catch (err) {
    fail(`render ${name}: GET ${url} failed: ${describe(err)}`)
  }
  const file = path.join(workDir, 'renders', `${name}.bin`)
  await fs.writeFile(file, res.body)
  const info = {
    url,
    status: res.status,
    contentType: res.headers['content-type'] || null,
    cacheControl: res.headers['cache-control'] || null,
    bytes: res.body.length,
    sha1: sha1(res.body),
    file,
  }
  if (res.status !== 200) info.text = res.body.toString('utf8').slice(0, 500)
  summary.renders[name] = info
  // Not fatal: the later steps do not depend on it, and the caller asserts on every status.
  if (res.status !== expect) {
    console.error(`warning: render ${name}: GET ${url} answered ${res.status}, expected ${expect}`)
  }
  return info
}

async function main() {
  await fs.mkdir(path.join(workDir, 'renders'), { recursive: true })
  const source = await fs.readFile(path.join(workDir, 'source.png'))
  summary.source = { bytes: source.length, sha1: sha1(source) }

  step = 'resolve *.localhost'
  summary.nodeResolvesOrgLocalhost = await new Promise(resolve =>
    dns.lookup(`${org}.localhost`, err => resolve(!err)),
  )

  // 1. Sign up: no API key yet; the answer carries the new key.
  const anonymous = new Rokka({ apiHost, renderHost, transport })
  const signup = await call('users.create', () => anonymous.users.create(email, org))
  summary.user = {
    status: signup.statusCode,
    id: signup.body.id,
    email: signup.body.email,
    hasApiKey: typeof signup.body.api_key === 'string' && signup.body.api_key.length > 0,
  }
  if (!summary.user.hasApiKey) fail(`users.create: no api_key in ${JSON.stringify(signup.body)}`)
  const rokka = new Rokka({ apiKey: signup.body.api_key, apiHost, renderHost, transport })
  const viaPath = new Rokka({ apiKey: signup.body.api_key, apiHost, renderHost: pathRenderHost, transport })

  // 2. The organization, and the upload with user and dynamic metadata.
  const orgResponse = await call('organizations.get', () => rokka.organizations.get(org))
  summary.organization = orgResponse.body

  const metaUser = { title: 'E2E sample', 'int:views': 3, 'array:tags': ['e2e', 'rokka'], draft: 'yes' }
  const subjectArea = { x: 440, y: 280, width: 120, height: 120 }
  const created = await call('sourceimages.create', () =>
    rokka.sourceimages.create(org, 'e2e-source.png', source, {
      meta_user: metaUser,
      meta_dynamic: { subject_area: subjectArea },
    }),
  )
  summary.upload = { status: created.statusCode, body: created.body }
  const image = created.body && created.body.items && created.body.items[0]
  if (!image || !image.hash || !image.short_hash) {
    fail(`sourceimages.create: no items[0].hash/short_hash in ${JSON.stringify(created.body)}`)
  }
  const { hash, short_hash: shortHash } = image

  // 3. List, get (full and short hash), add user metadata.
  const list = await call('sourceimages.list', () => rokka.sourceimages.list(org))
  summary.list = { total: list.body.total, hashes: (list.body.items || []).map(i => i.hash) }
  summary.getFull = (await call('sourceimages.get (hash)', () => rokka.sourceimages.get(org, hash))).body
  summary.getShort = (await call('sourceimages.get (short hash)', () => rokka.sourceimages.get(org, shortHash))).body

  const metaAdd = await call('sourceimages.meta.add', () =>
    rokka.sourceimages.meta.add(org, hash, { photographer: 'Jane Doe', 'int:views': 4, draft: null }),
  )
  summary.metaAdd = { status: metaAdd.statusCode }
  summary.afterMetaAdd = (await call('sourceimages.get (after meta.add)', () => rokka.sourceimages.get(org, hash))).body
  summary.metaGet = (await call('sourceimages.meta.get', () => rokka.sourceimages.meta.get(org, hash))).body

  // 4. A named stack, and the operations catalogue.
  const stackConfig = {
    operations: [{ name: 'resize', options: { width: 200 } }],
    options: { 'jpg.quality': 85 },
  }
  const stack = await call('stacks.create', () => rokka.stacks.create(org, 'thumb', stackConfig))
  summary.stackCreate = { status: stack.statusCode, body: stack.body }
  summary.stackGet = (await call('stacks.get', () => rokka.stacks.get(org, 'thumb'))).body
  // A stack with a variable: the width comes from $w (default 160), which URLs can override.
  const varStack = await call('stacks.create (variables)', () =>
    rokka.stacks.create(org, 'varthumb', {
      operations: [{ name: 'resize', options: { width: 100 }, expressions: { width: '$w' } }],
      variables: { w: 160 },
    }),
  )
  summary.varStackCreate = { status: varStack.statusCode, body: varStack.body }
  const operations = await call('operations.list', () => rokka.operations.list())
  summary.operations = Object.keys(operations.body || {}).sort()

  // 5. Render URLs built by the client, fetched over HTTP.
  const urls = {
    named: rokka.render.getUrl(org, hash, 'jpg', 'thumb'),
    named_png: rokka.render.getUrl(org, hash, 'png', 'thumb'),
    named_webp: rokka.render.getUrl(org, hash, 'webp', 'thumb'),
    seo: rokka.render.getUrl(org, hash, 'jpg', 'thumb', { filename: 'my-holiday-picture' }),
    short: rokka.render.getUrl(org, shortHash, 'jpg', 'thumb'),
    quality50: rokka.render.getUrl(org, hash, 'jpg', 'thumb', { stackoptions: { 'jpg.quality': 50 } }),
    dpr2: rokka.render.getUrl(org, hash, 'jpg', 'thumb', { stackoptions: { dpr: 2 } }),
    override: rokka.render.getUrl(org, hash, 'jpg', 'thumb/resize-width-120'),
    dynamic: rokka.render.getUrl(org, hash, 'png', [{ name: 'resize', options: { width: 100 } }]),
    dynamic_crop: rokka.render.getUrl(org, hash, 'png', [{ name: 'crop', options: { width: 100, height: 100 } }]),
    dynamic_rotate: rokka.render.getUrl(org, hash, 'png', [
      { name: 'resize', options: { width: 100 } },
      { name: 'rotate', options: { angle: 90 } },
    ]),
    dynamic_short: rokka.render.getUrl(org, shortHash, 'png', [{ name: 'resize', options: { width: 100 } }]),
    noop: rokka.render.getUrl(org, hash, 'png', ''),
    var_default: rokka.render.getUrl(org, hash, 'jpg', 'varthumb'),
    var_w60: rokka.render.addStackVariables(rokka.render.getUrl(org, hash, 'jpg', 'varthumb'), { w: 60 }),
    var_w80_getUrl: rokka.render.getUrl(org, hash, 'jpg', 'varthumb', { variables: { w: 80 } }),
    path_named: viaPath.render.getUrl(org, hash, 'jpg', 'thumb'),
  }
  summary.urls = urls
  for (const [name, url] of Object.entries(urls)) {
    await render(name, url)
  }
  await render('named_again', urls.named) // second request: answered from the render cache

  // 6. The original bytes come back unchanged.
  const download = await call('sourceimages.downloadAsBuffer', () => rokka.sourceimages.downloadAsBuffer(org, hash))
  const downloaded = Buffer.from(download.body)
  await fs.writeFile(path.join(workDir, 'download.bin'), downloaded)
  summary.download = {
    status: download.statusCode,
    bytes: downloaded.length,
    sha1: sha1(downloaded),
    equalsSource: downloaded.equals(source),
  }

  // 7. Deleting the stack breaks its URLs; deleting the image breaks every URL of it.
  const stackDelete = await call('stacks.delete', () => rokka.stacks.delete(org, 'thumb'))
  summary.stackDelete = { status: stackDelete.statusCode }
  summary.stackGetAfterDelete = await rejected('stacks.get (deleted)', () => rokka.stacks.get(org, 'thumb'))
  await render('named_after_stack_delete', urls.named, { expect: 404 })
  await render('seo_after_stack_delete', urls.seo, { expect: 404 })
  await render('dynamic_after_stack_delete', urls.dynamic) // dynamic renders do not need the stack

  const imageDelete = await call('sourceimages.delete', () => rokka.sourceimages.delete(org, hash))
  summary.imageDelete = { status: imageDelete.statusCode }
  summary.getAfterDelete = await rejected('sourceimages.get (deleted)', () => rokka.sourceimages.get(org, hash))
  summary.getShortAfterDelete = await rejected('sourceimages.get (deleted, short hash)', () =>
    rokka.sourceimages.get(org, shortHash),
  )
  await render('dynamic_after_image_delete', urls.dynamic, { expect: 404 })
  await render('dynamic_short_after_image_delete', urls.dynamic_short, { expect: 404 })
  await render('noop_after_image_delete', urls.noop, { expect: 404 })
  const listAfter = await call('sourceimages.list (after delete)', () => rokka.sourceimages.list(org))
  summary.listAfterDelete = { total: listAfter.body.total, hashes: (listAfter.body.items || []).map(i => i.hash) }

  step = 'done'
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
}

main().catch(err => {
  console.error(`rokka.js e2e flow failed at step "${step}": ${err && err.message ? err.message : err}`)
  // What was collected so far helps to see where the server went wrong.
  console.error(`partial summary: ${JSON.stringify(summary)}`)
  process.exit(1)
})

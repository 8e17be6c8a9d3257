// End-to-end: rokka.js's metadata, search, alias and copy calls against the local server.
//
//   node flow_management.mjs <server-url> <work-dir>
//
// <work-dir> holds a.png and b.png (made by the pytest side). Every call's outcome goes into a JSON
// summary on stdout ({status, body} or {error: {statusCode, body}}); test_rokkajs_management.py asserts on it.
import { Rokka } from 'rokka'
import { recorder, transport } from './record.mjs'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

const [serverArg, workDir] = process.argv.slice(2)
const apiHost = new URL(serverArg).origin
const org = `mgmt-${crypto.randomBytes(3).toString('hex')}`
const org2 = `${org}-copy`
const summary = { org, org2 }

const record = recorder(summary)

async function fetchStatus(name, url) {
  const res = await fetch(url)
  summary[name] = { url, status: res.status, contentType: res.headers.get('content-type'), bytes: (await res.arrayBuffer()).byteLength }
}

const anon = new Rokka({ apiHost, transport })
const user = await record('signup', () => anon.users.create(`${org}@example.org`, org))
const rokka = new Rokka({ apiHost, apiKey: user.body.api_key, transport,
                          renderHost: `${apiHost}/render/{organization}` })
await record('org2Create', () => rokka.organizations.create(org2, `${org}@example.org`, 'Copy target'))

const a = await fs.readFile(path.join(workDir, 'a.png'))
const b = await fs.readFile(path.join(workDir, 'b.png'))
const upA = await record('uploadA', () => rokka.sourceimages.create(org, 'a.png', a,
  { meta_user: { title: 'First', 'int:views': 5, 'array:tags': ['red', 'square'] } }))
const upB = await record('uploadB', () => rokka.sourceimages.create(org, 'b.png', b,
  { meta_user: { title: 'Second', 'int:views': 50, 'array:tags': ['blue'] } }))
const hashA = upA.body.items[0].hash
const hashB = upB.body.items[0].hash
summary.hashA = hashA
summary.hashB = hashB

// User metadata: set one field (rokka.js sends the string unquoted), delete one, read all.
await record('metaSet', () => rokka.sourceimages.meta.set(org, hashA, 'author', 'Jane Doe'))
await record('metaDeleteField', () => rokka.sourceimages.meta.delete(org, hashA, 'title'))
await record('metaGet', () => rokka.sourceimages.meta.get(org, hashA))
await record('metaReplace', () => rokka.sourceimages.meta.replace(org, hashB, { title: 'Replaced', 'int:views': 50 }))

// Search: a range filter, a sort and facets.
await record('searchViews', () => rokka.sourceimages.list(org, { search: { 'user:int:views': '[10,]' } }))
await record('searchSorted', () => rokka.sourceimages.list(org, { sort: 'user:int:views desc', facets: 'user:array:tags' }))
await record('searchName', () => rokka.sourceimages.list(org, { search: { name: 'a*' } }))

// Dynamic metadata: subject area (new hash), removed again with deletePrevious (query string).
const withArea = await record('setSubjectArea', () => rokka.sourceimages.setSubjectArea(org, hashA,
  { x: 2, y: 3, width: 10, height: 10 }))
await record('removeSubjectArea', () => rokka.sourceimages.removeSubjectArea(org, withArea.body.hash,
  { deletePrevious: true }))
await record('getAfterRemove', () => rokka.sourceimages.get(org, withArea.body.hash))
const withVersion = await record('addVersion', () => rokka.sourceimages.addDynamicMetaData(org, hashA, 'version',
  { text: 'v2' }))
// deleteDynamicMetaData sends deletePrevious in a JSON body on DELETE.
await record('deleteVersion', () => rokka.sourceimages.deleteDynamicMetaData(org, withVersion.body.hash, 'version',
  { deletePrevious: true }))
await record('getVersionGone', () => rokka.sourceimages.get(org, withVersion.body.hash))

// Aliases, and rendering by alias.
await record('aliasCreate', () => rokka.sourceimages.alias.create(org, 'hero', { hash: hashB }))
await record('aliasGet', () => rokka.sourceimages.alias.get(org, 'hero'))
await fetchStatus('aliasRender', `${apiHost}/render/${org}/dynamic/resize-width-20/-_hero_-.png`)
await record('aliasOverwrite', () => rokka.sourceimages.alias.create(org, 'hero', { hash: hashA }, { overwrite: true }))
await record('aliasDelete', () => rokka.sourceimages.alias.delete(org, 'hero'))
await fetchStatus('aliasRenderGone', `${apiHost}/render/${org}/dynamic/resize-width-20/-_hero_-.png`)

// Copy with the COPY method, refused overwrite, and bulk copy.
await record('copy', () => rokka.sourceimages.copy(org, hashA, org2))
await record('copyNoOverwrite', () => rokka.sourceimages.copy(org, hashA, org2, false))
await record('copyAll', () => rokka.sourceimages.copyAll(org, [hashA, hashB], org2, false))
await record('copiedGet', () => rokka.sourceimages.get(org2, hashB))

// Name, protect and lock.
await record('putName', () => rokka.sourceimages.putName(org, hashA, 'renamed.png'))
await record('nameAfter', () => rokka.sourceimages.get(org, hashA))
await record('setProtected', () => rokka.sourceimages.setProtected(org, hashB, true))
await record('setLocked', () => rokka.sourceimages.setLocked(org, hashA, true))
await record('deleteLocked', () => rokka.sourceimages.delete(org, hashA))

// Upload by URL: the server imports one of its own renders (FETCH_ALLOWED_NETWORKS allows loopback here).
await record('createByUrl', () => rokka.sourceimages.createByUrl(org,
  `${apiHost}/render/${org}/dynamic/resize-width-7/${hashA}.png`, { meta_user: { from: 'url' } }))

console.log(JSON.stringify(summary))

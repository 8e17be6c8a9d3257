// rokka.js's copy calls (the COPY method with a Destination header) against one server.
//
//   node flow_copy.mjs <server-url> <png-file>
//
// Prints a JSON summary ({status, body} or {error: {statusCode, body}} per call) on stdout.
import { Rokka } from 'rokka'
import { recorder, transport } from './record.mjs'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'

const [serverArg, pngPath] = process.argv.slice(2)
const apiHost = new URL(serverArg).origin
const org = `copy-${crypto.randomBytes(3).toString('hex')}`
const org2 = `${org}-to`
const summary = { org, org2 }

const record = recorder(summary)

const anon = new Rokka({ apiHost, transport })
const user = await record('signup', () => anon.users.create(`${org}@example.org`, org))
const rokka = new Rokka({ apiHost, apiKey: user.body.api_key, transport })
await record('org2Create', () => rokka.organizations.create(org2, `${org}@example.org`, 'Copy target'))
const png = await fs.readFile(pngPath)
const up = await record('upload', () => rokka.sourceimages.create(org, 'a.png', png))
const hash = up.body.items[0].hash
summary.hash = hash
await record('copiedBefore', () => rokka.sourceimages.get(org2, hash))
await record('copy', () => rokka.sourceimages.copy(org, hash, org2))
await record('copyAgain', () => rokka.sourceimages.copy(org, hash, org2))
await record('copyNoOverwrite', () => rokka.sourceimages.copy(org, hash, org2, false))
await record('copiedGet', () => rokka.sourceimages.get(org2, hash))
await record('copyUnknown', () => rokka.sourceimages.copy(org, 'f'.repeat(40), org2))
console.log(JSON.stringify(summary))

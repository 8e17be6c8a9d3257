// Shared by the e2e flows: no retries (a failure shows at once), and a recorder that stores each
// rokka.js call's outcome in the summary as {status, body} or {error: {statusCode, body, message}}.
export const transport = { retries: 0, minTimeout: 50, maxTimeout: 100, randomize: false }

export function recorder(summary) {
  return async function record(name, fn) {
    try {
      const res = await fn()
      summary[name] = { status: res.statusCode, body: res.body }
    } catch (err) {
      summary[name] = { error: { statusCode: err.statusCode, body: err.body, message: String(err.message || err) } }
    }
    return summary[name]
  }
}

import type { IncomingMessage } from 'node:http'
import getRawBody from 'raw-body'
import { parseJsonText } from '../json-text.js'
import {
  InvalidJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  quoteForMessage,
} from '../errors.js'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i

/**
 * Reads a request body as UTF-8 JSON text, without parsing it.
 *
 * A missing `Content-Type` is read as JSON; any other media type, or a charset other than UTF-8,
 * is rejected, so that a form post by mistake gets a clear error instead of a parse failure.
 * @throws {UnsupportedMediaTypeError} for a non-JSON content type or a charset other than UTF-8.
 * @throws {PayloadTooLargeError} when the body exceeds `maxBytes`.
 * @throws {InvalidJsonError} when the body is empty or not valid UTF-8.
 */
export async function readJsonText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const contentType = req.headers['content-type']
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Unsupported content type ${quoteForMessage(contentType)}; send the body as application/json`,
    )
  }
  const charset = contentType && CHARSET.exec(contentType)?.[1]
  if (charset && !/^utf-?8$/i.test(charset)) {
    throw new UnsupportedMediaTypeError(
      `Unsupported charset ${quoteForMessage(charset)}; send the body as UTF-8`,
    )
  }
  let bytes: Buffer
  try {
    bytes = await getRawBody(req, { limit: maxBytes })
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') {
      throw new PayloadTooLargeError(
        `Request body exceeds the limit of ${maxBytes} bytes; send a smaller event or raise the hub's --max-body-bytes`,
      )
    }
    throw new InvalidJsonError('Failed to read the request body', { cause: err })
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (err) {
    throw new InvalidJsonError('Request body is not valid UTF-8', { cause: err })
  }
  if (text.trim() === '') throw new InvalidJsonError('Request body is empty; send a JSON object')
  return text
}

/** Reads and parses a JSON request body; see `readJsonText` for what is rejected. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return parseJsonText(await readJsonText(req, maxBytes))
}

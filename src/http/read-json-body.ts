import type { IncomingMessage } from 'node:http'
import getRawBody from 'raw-body'
import {
  InvalidJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  quoteForMessage,
} from '../errors.js'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads a request body as JSON.
 *
 * A missing `Content-Type` is read as JSON; any other media type is rejected, so that a form post
 * by mistake gets a clear error instead of a parse failure.
 * @throws {UnsupportedMediaTypeError} for a non-JSON content type.
 * @throws {PayloadTooLargeError} when the body exceeds `maxBytes`.
 * @throws {InvalidJsonError} when the body is not UTF-8 JSON.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = req.headers['content-type']
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Unsupported content type ${quoteForMessage(contentType)}; send the body as application/json`,
    )
  }
  let text: string
  try {
    text = await getRawBody(req, { limit: maxBytes, encoding: 'utf-8' })
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') {
      throw new PayloadTooLargeError(`Request body exceeds the limit of ${maxBytes} bytes`)
    }
    throw new InvalidJsonError('Failed to read the request body', { cause: err })
  }
  if (text.trim() === '') throw new InvalidJsonError('Request body is empty; send a JSON object')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new InvalidJsonError(`Request body is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

import { InvalidJsonError } from './errors.js'

/** Parses JSON text received from a client. @throws {InvalidJsonError} when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new InvalidJsonError(`Invalid JSON: ${(err as Error).message}`, { cause: err })
  }
}

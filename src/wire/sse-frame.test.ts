import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import {
  encodeComment,
  encodeDataLines,
  encodeEventLine,
  encodeFrame,
  encodeIdLine,
  encodeRetry,
  escapeLineSeparators,
  type SseFrame,
} from './sse-frame.js'

const PROPERTY_RUNS = 500

/** What a spec-following client reports for one stream. */
interface ParsedStream {
  events: EventSourceMessage[]
  comments: string[]
  retries: number[]
}

/** Parses a whole stream given as text chunks. */
function parseChunks(chunks: Iterable<string>): ParsedStream {
  const parsed: ParsedStream = { events: [], comments: [], retries: [] }
  const parser = createParser({
    onEvent: (event) => parsed.events.push(event),
    onComment: (comment) => parsed.comments.push(comment),
    onRetry: (retry) => parsed.retries.push(retry),
  })
  for (const chunk of chunks) parser.feed(chunk)
  return parsed
}

/**
 * Decodes byte chunks the way a client reads a response body: one streaming UTF-8 decoder, so a
 * character split across two chunks is joined again.
 */
function* decodeByteChunks(chunks: Iterable<Uint8Array>): Generator<string> {
  const decoder = new TextDecoder('utf-8')
  for (const chunk of chunks) yield decoder.decode(chunk, { stream: true })
  yield decoder.decode()
}

/** Splits bytes at the given offsets, which may fall inside a multi-byte character. */
function splitBytes(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((offset) => offset % (bytes.length + 1)))].sort(
    (a, b) => a - b,
  )
  const chunks: Buffer[] = []
  let start = 0
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, cut))
    start = cut
  }
  return chunks
}

/** [spec] A client reads CRLF, CR and LF as the same line break and joins data lines with LF. */
function normalizeLineBreaks(text: string): string {
  return text.replace(/\r\n|\r/g, '\n')
}

/**
 * Builds the event a client reports for a frame. [spec] An empty `event` field dispatches the
 * default `message` event, which eventsource-parser 3 reports as an undefined event name.
 */
function expectedEvent(frame: SseFrame & { data: string }): EventSourceMessage {
  return {
    id: frame.id,
    event: frame.event === '' ? undefined : frame.event,
    data: normalizeLineBreaks(frame.data),
  }
}

// Pieces that stress the framing: line breaks, field syntax, characters that are line breaks in
// other formats, a BOM, NUL, multi-byte and astral characters, and lone surrogates.
const trickyPiece = fc.constantFrom(
  '\r',
  '\n',
  '\r\n',
  '\n\r',
  ':',
  ' ',
  'data: ',
  'id:',
  '\u2028',
  '\u2029',
  '\u0085',
  '\uFEFF',
  '\0',
  'é',
  '€',
  '😀',
  '\u{10FFFF}',
  '\uD800',
  '\uDFFF',
)
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
const textUnit = fc.oneof(
  { arbitrary: anyCodePoint, weight: 3 },
  { arbitrary: trickyPiece, weight: 2 },
)
// UTF-8 cannot carry a lone surrogate, which becomes U+FFFD, so byte-level properties leave
// them out.
const wellFormedUnit = textUnit.filter((unit) => !/[\uD800-\uDFFF]/.test(unit) || unit.length === 2)

const anyData = fc.string({ unit: textUnit, maxLength: 40 })
const anyId = fc.string({ unit: textUnit.filter((unit) => !/[\r\n\0]/.test(unit)), maxLength: 20 })
const anyEventName = fc.string({
  unit: textUnit.filter((unit) => !/[\r\n]/.test(unit)),
  maxLength: 20,
})

/** Frames with data, and optional id and event, built so that absent fields are left out. */
function frameArbitrary(
  data: fc.Arbitrary<string>,
  id: fc.Arbitrary<string>,
  event: fc.Arbitrary<string>,
): fc.Arbitrary<SseFrame & { data: string }> {
  return fc
    .record({
      data,
      id: fc.option(id, { nil: undefined }),
      event: fc.option(event, { nil: undefined }),
    })
    .map(({ data, id, event }) => ({
      data,
      ...(id === undefined ? {} : { id }),
      ...(event === undefined ? {} : { event }),
    }))
}

const anyFrame = frameArbitrary(anyData, anyId, anyEventName)
const wellFormedFrame = frameArbitrary(
  fc.string({ unit: wellFormedUnit, maxLength: 40 }),
  fc.string({ unit: wellFormedUnit.filter((unit) => !/[\r\n\0]/.test(unit)), maxLength: 20 }),
  fc.string({ unit: wellFormedUnit.filter((unit) => !/[\r\n]/.test(unit)), maxLength: 20 }),
)

describe('encodeFrame', () => {
  it('encodes single-line data', () => {
    assert.equal(encodeFrame({ data: 'hello' }), 'data: hello\n\n')
  })

  it('splits LF data into separate data lines', () => {
    assert.equal(encodeFrame({ data: 'a\nb' }), 'data: a\ndata: b\n\n')
  })

  it('splits CR data into separate data lines', () => {
    assert.equal(encodeFrame({ data: 'a\rb' }), 'data: a\ndata: b\n\n')
  })

  it('splits CRLF data into separate data lines', () => {
    assert.equal(encodeFrame({ data: 'a\r\nb' }), 'data: a\ndata: b\n\n')
  })

  it('reads LF followed by CR as two line breaks', () => {
    assert.equal(encodeFrame({ data: 'a\n\rb' }), 'data: a\ndata: \ndata: b\n\n')
  })

  it('keeps a trailing newline as an empty data line', () => {
    assert.equal(encodeFrame({ data: 'a\n' }), 'data: a\ndata: \n\n')
  })

  it('encodes empty data as one empty data line', () => {
    assert.equal(encodeFrame({ data: '' }), 'data: \n\n')
  })

  it('keeps data that starts with a colon', () => {
    assert.equal(encodeFrame({ data: ':not a comment' }), 'data: :not a comment\n\n')
  })

  it('keeps data that starts with a space', () => {
    assert.equal(encodeFrame({ data: ' padded' }), 'data:  padded\n\n')
  })

  it('keeps unicode and astral-plane characters', () => {
    assert.equal(encodeFrame({ data: 'é € 😀 \u{10FFFF}' }), 'data: é € 😀 \u{10FFFF}\n\n')
  })

  it('writes an emoji as its four UTF-8 bytes', () => {
    const bytes = Buffer.from(encodeFrame({ data: '😀' }), 'utf8')

    assert.deepEqual(
      bytes,
      Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xf0, 0x9f, 0x98, 0x80, 0x0a, 0x0a]),
    )
  })

  it('keeps a 1 MB line as one data line', () => {
    const data = 'x'.repeat(1024 * 1024)
    const encoded = encodeFrame({ data })

    assert.equal(encoded, `data: ${data}\n\n`)
    assert.equal(encoded.indexOf('\n'), encoded.length - 2)
  })

  it('writes event, then data, then id', () => {
    assert.equal(
      encodeFrame({ id: 'e-1', event: 'CASE_CREATED', data: '{}' }),
      'event: CASE_CREATED\ndata: {}\nid: e-1\n\n',
    )
  })

  it('encodes a frame without data', () => {
    assert.equal(encodeFrame({ id: 'e-2' }), 'id: e-2\n\n')
  })

  it('encodes an empty frame as a blank line', () => {
    assert.equal(encodeFrame({}), '\n')
  })

  it('rejects an id with a line break', () => {
    assert.throws(() => encodeFrame({ id: 'a\nb', data: 'x' }), TypeError)
  })
})

describe('encodeDataLines', () => {
  it('encodes each line of the value', () => {
    assert.equal(
      encodeDataLines('one\r\ntwo\rthree\nfour'),
      'data: one\ndata: two\ndata: three\ndata: four\n',
    )
  })
})

describe('encodeIdLine', () => {
  it('encodes the id after a space', () => {
    assert.equal(encodeIdLine('abc.1'), 'id: abc.1\n')
  })

  it('encodes an empty id', () => {
    assert.equal(encodeIdLine(''), 'id: \n')
  })

  for (const [name, id] of [
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['NUL', 'a\0b'],
  ] as const) {
    it(`throws TypeError for ${name}`, () => {
      assert.throws(() => encodeIdLine(id), TypeError)
    })
  }
})

describe('encodeEventLine', () => {
  it('encodes the event name after a space', () => {
    assert.equal(encodeEventLine('CASE_CREATED'), 'event: CASE_CREATED\n')
  })

  for (const [name, event] of [
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['CRLF', 'a\r\nb'],
  ] as const) {
    it(`throws TypeError for ${name}`, () => {
      assert.throws(() => encodeEventLine(event), TypeError)
    })
  }
})

describe('encodeRetry', () => {
  it('encodes the delay as a field ended by a blank line', () => {
    assert.equal(encodeRetry(3000), 'retry: 3000\n\n')
  })

  it('encodes zero', () => {
    assert.equal(encodeRetry(0), 'retry: 0\n\n')
  })

  it('encodes negative zero as zero', () => {
    assert.equal(encodeRetry(-0), 'retry: 0\n\n')
  })

  it('encodes the largest safe integer in plain digits', () => {
    assert.equal(encodeRetry(Number.MAX_SAFE_INTEGER), 'retry: 9007199254740991\n\n')
  })

  for (const [name, ms] of [
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', NaN],
    ['infinite', Infinity],
    ['unsafe integer', 2 ** 53],
  ] as const) {
    it(`throws RangeError for a ${name} delay`, () => {
      assert.throws(() => encodeRetry(ms), RangeError)
    })
  }
})

describe('encodeComment', () => {
  it('encodes text after a colon and a space', () => {
    assert.equal(encodeComment('keep-alive'), ': keep-alive\n')
  })

  it('encodes empty text as a bare colon', () => {
    assert.equal(encodeComment(''), ':\n')
  })

  it('encodes each line of multi-line text', () => {
    assert.equal(encodeComment('one\r\ntwo\rthree\nfour'), ': one\n: two\n: three\n: four\n')
  })

  it('encodes empty lines as bare colons', () => {
    assert.equal(encodeComment('a\n\nb\n'), ': a\n:\n: b\n:\n')
  })
})

describe('escapeLineSeparators', () => {
  it('escapes U+2028, U+2029 and U+0085', () => {
    const json = JSON.stringify({ text: 'a\u2028b\u2029c\u0085d' })

    assert.equal(escapeLineSeparators(json), '{"text":"a\\u2028b\\u2029c\\u0085d"}')
  })

  it('returns JSON that parses to the same value', () => {
    const value = { text: 'a\u2028b\u2029c\u0085d', list: ['\u2028'] }

    assert.deepEqual(JSON.parse(escapeLineSeparators(JSON.stringify(value))), value)
  })

  it('leaves JSON without separators unchanged', () => {
    const json = JSON.stringify({ text: 'plain 😀 \\u2028' })

    assert.equal(escapeLineSeparators(json), json)
  })

  it('escapes any JSON value losslessly', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: textUnit }), (value) => {
        const json = JSON.stringify(value)
        const escaped = escapeLineSeparators(json)

        assert.doesNotMatch(escaped, /[\u2028\u2029\u0085]/)
        assert.deepEqual(JSON.parse(escaped), JSON.parse(json))
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })
})

describe('encoder against a WHATWG parser', () => {
  it('decodes one frame to its event', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        const { events } = parseChunks([encodeFrame(frame)])

        assert.equal(events.length, 1)
        assert.deepEqual(events[0], expectedEvent(frame))
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })

  it('decodes frames fed as byte chunks split anywhere', () => {
    const comment = fc.option(fc.string({ unit: wellFormedUnit, maxLength: 10 }), {
      nil: undefined,
    })
    const framesWithComments = fc.array(fc.tuple(wellFormedFrame, comment), {
      minLength: 1,
      maxLength: 5,
    })

    fc.assert(
      fc.property(framesWithComments, fc.array(fc.nat(), { maxLength: 30 }), (items, offsets) => {
        const text = items
          .map(
            ([frame, comment]) =>
              encodeFrame(frame) + (comment === undefined ? '' : encodeComment(comment)),
          )
          .join('')
        const chunks = splitBytes(Buffer.from(text, 'utf8'), offsets)
        const { events } = parseChunks(decodeByteChunks(chunks))

        assert.deepEqual(
          events,
          items.map(([frame]) => expectedEvent(frame)),
        )
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })

  it('decodes frames fed one byte at a time', () => {
    const frames = [
      { id: 'ü.1', event: 'ÉVÉNEMENT', data: '😀\r\n\u{10FFFF}€' },
      { id: '😀', data: 'é\rx' },
    ]
    const bytes = Buffer.from(frames.map((frame) => encodeFrame(frame)).join(''), 'utf8')
    const chunks = Array.from(bytes, (_byte, index) => bytes.subarray(index, index + 1))
    const { events } = parseChunks(decodeByteChunks(chunks))

    assert.deepEqual(events, [
      { id: 'ü.1', event: 'ÉVÉNEMENT', data: '😀\n\u{10FFFF}€' },
      { id: '😀', event: undefined, data: 'é\nx' },
    ])
  })

  it('decodes a comment without an event', () => {
    fc.assert(
      fc.property(anyData, (text) => {
        const { events, comments } = parseChunks([encodeComment(text)])

        assert.equal(events.length, 0)
        assert.deepEqual(comments, normalizeLineBreaks(text).split('\n'))
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })

  it('ignores a comment between frames', () => {
    fc.assert(
      fc.property(anyFrame, anyData, anyFrame, (first, text, second) => {
        const stream = encodeFrame(first) + encodeComment(text) + encodeFrame(second)
        const { events } = parseChunks([stream])

        assert.deepEqual(events, [expectedEvent(first), expectedEvent(second)])
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })

  it('decodes a retry field to its delay', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (ms) => {
        const { events, retries } = parseChunks([encodeRetry(ms)])

        assert.equal(events.length, 0)
        assert.deepEqual(retries, [ms])
      }),
      { numRuns: PROPERTY_RUNS },
    )
  })
})

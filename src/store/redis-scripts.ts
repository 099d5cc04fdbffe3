/**
 * The Lua scripts of `RedisStore`, and the typed commands that `ioredis` defines for them on the
 * command connection. Redis runs each script atomically.
 * @module
 */
import type { Redis } from 'ioredis'

/**
 * KEYS: head, log. ARGV: eventType, json, createdAt, channel, origin. Returns the new position.
 * XADD runs before INCR because a script is not rolled back when a command fails: a failed XADD
 * must not leave a raised head without its entry, which readers would take for a gap.
 */
const APPEND_SCRIPT = `
local position = (tonumber(redis.call('GET', KEYS[1])) or 0) + 1
redis.call('XADD', KEYS[2], string.format('%d-0', position),
  'eventType', ARGV[1], 'json', ARGV[2], 'createdAt', ARGV[3])
redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[4], string.format('%d %s', position, ARGV[5]))
return position
`

/**
 * KEYS: head, log, trimmed-through. ARGV: appendedBefore, maxEvents, batch size, scan limit.
 * Returns `{removed, more}`. The cut is the larger of the count limit and the newest position of
 * the run of old events at the start of the log, the rule the other stores apply. The walk reads
 * at most the scan limit of entries so that one call never blocks Redis for long. When it stops
 * there, `more` is 1 and the caller runs the script again. Each call reads the state afresh, so
 * calls from several hubs at once remove every event once and never lower trimmed-through.
 */
const TRIM_SCRIPT = `
local head = tonumber(redis.call('GET', KEYS[1])) or 0
local trimmed = tonumber(redis.call('GET', KEYS[3])) or 0
local appendedBefore = tonumber(ARGV[1])
local batchSize = tonumber(ARGV[3])
local cut = math.max(head - tonumber(ARGV[2]), trimmed)
local scanned = 0
local more = 0
while true do
  local entries = redis.call('XRANGE', KEYS[2], string.format('(%d-0', cut), '+',
    'COUNT', batchSize)
  local young = false
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    local createdAt
    for i = 1, #fields, 2 do
      if fields[i] == 'createdAt' then createdAt = tonumber(fields[i + 1]) end
    end
    if not createdAt or createdAt >= appendedBefore then
      young = true
      break
    end
    cut = tonumber(string.match(entry[1], '^%d+'))
  end
  scanned = scanned + #entries
  if young or #entries < batchSize then break end
  if scanned >= tonumber(ARGV[4]) then
    more = 1
    break
  end
end
if cut <= trimmed then return {0, more} end
local removed = redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', cut + 1))
redis.call('SET', KEYS[3], string.format('%d', cut))
return {removed, more}
`

/**
 * KEYS: subs-by-seen, then the hash of each update. ARGV: five per update, namely id, position,
 * startPosition, connectionState and lastSeenAt, where an empty string leaves the field as it is.
 * A hash that does not exist is left alone, so an unknown id creates nothing.
 */
const UPDATE_SUBSCRIPTIONS_SCRIPT = `
for i = 2, #KEYS do
  local base = (i - 2) * 5
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local fields = {'lastSeenAt', ARGV[base + 5]}
    local names = {'position', 'startPosition', 'connectionState'}
    for offset, name in ipairs(names) do
      local value = ARGV[base + 1 + offset]
      if value ~= '' then
        table.insert(fields, name)
        table.insert(fields, value)
      end
    end
    redis.call('HSET', KEYS[i], unpack(fields))
    redis.call('ZADD', KEYS[1], ARGV[base + 5], ARGV[base + 1])
  end
end
return 0
`

/**
 * KEYS: subs-by-seen. ARGV: lastSeenBefore, key prefix of the hashes, batch size. Removes up to
 * a batch of subscriptions last seen before the cutoff and returns how many it removed.
 * NOTE: the hash keys are built in the script rather than passed in KEYS, which standalone Redis
 * allows and Cluster would not.
 */
const EXPIRE_SUBSCRIPTIONS_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],
  'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[2] .. id)
end
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return #ids
`

/**
 * The scripts, as `defineCommand` adds them to the command connection.
 * @internal
 */
export interface StoreScripts {
  tidingsAppend(...args: [head: string, log: string, ...argv: string[]]): Promise<number>
  tidingsTrim(
    ...args: [head: string, log: string, trimmedThrough: string, ...argv: string[]]
  ): Promise<[number, number]>
  tidingsUpdateSubscriptions(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>
  tidingsExpireSubscriptions(...args: [index: string, ...argv: string[]]): Promise<number>
}

/**
 * Defines the scripts on the command connection `commands`, and returns it typed with them.
 * @internal
 */
export function defineStoreScripts(commands: Redis): Redis & StoreScripts {
  commands.defineCommand('tidingsAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT })
  commands.defineCommand('tidingsTrim', { numberOfKeys: 3, lua: TRIM_SCRIPT })
  commands.defineCommand('tidingsUpdateSubscriptions', { lua: UPDATE_SUBSCRIPTIONS_SCRIPT })
  commands.defineCommand('tidingsExpireSubscriptions', {
    numberOfKeys: 1,
    lua: EXPIRE_SUBSCRIPTIONS_SCRIPT,
  })
  return commands as Redis & StoreScripts
}

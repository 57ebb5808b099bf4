"""The Lua scripts of the Redis Streams bus: each runs atomically on the server.

Atomic matters where two steps must not be separated by a crash or by another consumer: a dead
letter must not be written without its entry leaving the inbox (or it would be delivered again),
and an ack must not leave a half-forgotten entry behind.
"""

from __future__ import annotations

__all__ = ["ACK_MANY", "CLAIM", "DEAD_LETTER", "LONG_AGO_MS", "NACK", "RELEASE", "SEND_MANY"]

# Send many messages (ScriptBatcher): one XADD per inbox stream, each reply the entry id or the
# error of that XADD alone. KEYS: inbox streams. ARGV: the encoded messages, in the same order.
SEND_MANY = """
local ids = {}
for i, stream in ipairs(KEYS) do
  ids[i] = redis.pcall('XADD', stream, '*', 'message', ARGV[i])
end
return ids
"""

# Ack many deliveries (ScriptBatcher): forget each entry once processed -- XACK, XDEL, and its
# nack reason if it had one. KEYS: (inbox stream, nack-reason hash) per item.
# ARGV: group, then one entry id per item. Each reply: 1 if it was pending, else 0 (or an error).
ACK_MANY = """
local replies = {}
for i = 2, #ARGV do
  local stream, nacks, id = KEYS[2 * i - 3], KEYS[2 * i - 2], ARGV[i]
  local acked = redis.pcall('XACK', stream, ARGV[1], id)
  if type(acked) == 'number' then
    redis.call('XDEL', stream, id)
    redis.call('HDEL', nacks, id)
  end
  replies[i - 1] = acked
end
return replies
"""

# Take over the oldest delivery idle for at least ARGV[3] ms, and say how often it was delivered.
# KEYS: inbox stream, nack-reason hash. ARGV: group, consumer, min idle ms.
# Returns {entry id, flat fields, delivery count, last nack reason or nil}, or nil.
# XAUTOCLAIM scans at most 10 pending entries per call, hence the bounded walk along its cursor.
CLAIM = """
local cursor = '0-0'
for _ = 1, 20 do
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', 1)
  local entries = claimed[2]
  if #entries > 0 then
    local id = entries[1][1]
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    return {id, entries[1][2], pending[1][4], redis.call('HGET', KEYS[2], id)}
  end
  cursor = claimed[1]
  if cursor == '0-0' then return false end
end
return false
"""

# Move one entry to the dead letters (capped at about ARGV[3] entries) and off the inbox, atomically.
# KEYS: inbox stream, dead-letter stream, nack-reason hash.
# ARGV: group, entry id, maxlen, then the dead letter's field/value pairs.
DEAD_LETTER = """
local dead_id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return dead_id
"""

# Give back read-ahead entries this consumer never handed out: claimable at once, with the
# delivery count restored so that the next delivery is attempt 1. Only entries still pending on
# this consumer with one delivery: one that another consumer took over (or that this one took
# over itself) is being handled and must not be touched.
# KEYS: inbox stream. ARGV: group, consumer, idle ms, id... Returns the ids given back.
RELEASE = """
local released = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if pending and pending[2] == ARGV[2] and pending[4] == 1 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'RETRYCOUNT', 0,
      'JUSTID')
    released[#released + 1] = id
  end
end
return released
"""

# Nack: keep the reason and make the entry claimable now (IDLE far in the past; JUSTID so the
# delivery count is not bumped by this bookkeeping claim).
# KEYS: inbox stream, nack-reason hash. ARGV: group, consumer, id, reason, idle ms.
NACK = """
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
"""

LONG_AGO_MS = 10 * 365 * 24 * 3600 * 1000
"""An idle time past every consumer's timeout: what nack and release set to make an entry
claimable at once."""

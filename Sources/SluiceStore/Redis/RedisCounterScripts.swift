import Crypto

/// The Lua scripts of `RedisCounterStore`: each runs atomically in Redis, so a request's limits
/// are decided (or its reservations settled) in one round trip with no other request in between.
///
/// Every counter is one hash, whatever its kind:
/// * `n`, `q`, `u`, `w` — the name, quota, unit and window (`60`, `d` for the UTC day, `c` for
///   concurrency) of the check that last decided it, for `/admin/limits`;
/// * rolling window — `s<slot index>` → amount, one field per slot that holds something;
/// * UTC day — `d` → day number (ms since 1970 ÷ 86,400,000), `v` → amount;
/// * concurrency — `l<lease id>` → `<amount>:<expiry ms>` per lease, `i` → last lease id.
///
/// The scripts keep to the arithmetic of `LimitCounter` and `RollingWindow` (slot = now ÷ slot
/// length; a slot counts until 60 slots after it; used < quota for tokens, used + amount ≤ quota
/// for requests); what they return is turned into states and Retry-After by those same types in
/// Swift, so the two stores cannot drift apart in the arithmetic that matters to callers.
///
/// Numbers are Lua doubles: exact up to 2^53 (9 × 10^15 tokens, or $90 million in nano-dollars);
/// quotas above that behave as unlimited. Written back with `%d`, never `tostring` (which turns
/// 10^15 into `1e+15`).
enum RedisCounterScripts {
    /// KEYS: the request's counters, each once, in the order of its checks.
    /// ARGV[1]: now in ms, or -1 to read Redis' clock (TIME); ARGV[2]: lease expiry in ms; then 9
    /// per counter: kind (`r`, `d`, `c`), slot ms, mode (`w` whole, `u` up to remaining), quota,
    /// amount, then the meta fields n, q, u, w to keep.
    ///
    /// Returns `{admitted (1/0), now, per counter {admits (1/0), slot, amount, state...}}` where
    /// state is `day, used` (UTC day), `in flight` (concurrency) or, for a rolling window, slots as
    /// `index, amount, ...` oldest first; after the reservation when admitted, before it when
    /// refused. A refusal writes nothing.
    ///
    /// A rolling window comes back whole only from a counter that refuses: its Retry-After walks
    /// the slots (`RollingWindow.msUntilUsed`). Every other window is collapsed into one slot,
    /// its oldest counted one (amount > 0), holding the window's total — all that its state reads
    /// (`used` and `msUntilOldestExpires`) — or into nothing when it counts nothing. Returning
    /// every slot of every window made a typical reply ~4 KB, and reading it took about a third of
    /// the gateway's CPU per request.
    static let decide = """
    local now = tonumber(ARGV[1])
    if now < 0 then
      local t = redis.call('TIME')
      now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
    local leaseMs = tonumber(ARGV[2])
    local DAY = 86400000
    -- Keys outlive their last counted moment by a minute: nothing reads an expired slot or a past
    -- day anyway, and a caller-supplied clock (TimeSource.caller) may lag Redis' by a little.
    local GRACE = 60000
    local function int(x) return string.format('%d', x) end
    local counters = {}
    local admitted = 1
    for i = 1, #KEYS do
      local a = 2 + (i - 1) * 9
      local c = {kind = ARGV[a + 1], slotMs = tonumber(ARGV[a + 2]), whole = ARGV[a + 3] == 'w',
                 quota = tonumber(ARGV[a + 4]), amount = tonumber(ARGV[a + 5]), meta = a + 6,
                 used = 0, slots = {}, stale = {}, leaseEnd = 0}
      if c.kind == 'r' then
        c.current = math.floor(now / c.slotMs)
      elseif c.kind == 'd' then
        c.today = math.floor(now / DAY)
      end
      local fields = redis.call('HGETALL', KEYS[i])
      for j = 1, #fields, 2 do
        local f, v = fields[j], fields[j + 1]
        local head = string.sub(f, 1, 1)
        if head == 's' then
          local index = tonumber(string.sub(f, 2))
          if index and index > c.current - 60 then
            local amount = tonumber(v)
            c.slots[#c.slots + 1] = {index, amount}
            c.used = c.used + amount
          else
            c.stale[#c.stale + 1] = f
          end
        elseif head == 'l' then
          local amount, expiry = string.match(v, '^(%-?%d+):(%-?%d+)$')
          if amount and tonumber(expiry) > now then
            c.used = c.used + tonumber(amount)
            if tonumber(expiry) > c.leaseEnd then c.leaseEnd = tonumber(expiry) end
          else
            c.stale[#c.stale + 1] = f
          end
        elseif f == 'd' then c.day = tonumber(v)
        elseif f == 'v' then c.dayUsed = tonumber(v)
        elseif f == 'n' then c.name = v
        elseif f == 'q' then c.quotaText = v
        end
      end
      if c.kind == 'd' then
        -- A day never moves back (see LimitCounter.refresh).
        if c.day == nil or c.day < c.today then c.day = c.today; c.dayUsed = 0 end
        c.used = c.dayUsed or 0
      end
      if c.whole then
        if c.used + c.amount <= c.quota then c.grant = c.amount end
      elseif c.used < c.quota then
        c.grant = math.min(c.amount, c.quota - c.used)
      end
      if c.grant == nil then admitted = 0 end
      counters[i] = c
    end

    local reply = {admitted, now}
    for i = 1, #KEYS do
      local c, key = counters[i], KEYS[i]
      local slot, grant = 0, 0
      if admitted == 1 then
        grant = c.grant
        if #c.stale > 0 then redis.call('HDEL', key, unpack(c.stale)) end
        if c.kind == 'r' then
          slot = c.current
          redis.call('HINCRBY', key, 's' .. int(slot), int(grant))
          local placed, newest = false, slot
          for _, s in ipairs(c.slots) do
            if s[1] == slot then s[2] = s[2] + grant; placed = true end
            if s[1] > newest then newest = s[1] end
          end
          if not placed then c.slots[#c.slots + 1] = {slot, grant} end
          c.used = c.used + grant
          -- Gone (after GRACE) when its newest slot leaves the window: when LimitCounter.isIdle turns true.
          redis.call('PEXPIRE', key, math.max(1, (newest + 60) * c.slotMs - now) + GRACE)
        elseif c.kind == 'd' then
          slot = c.day
          c.used = c.used + grant
          redis.call('HSET', key, 'd', int(c.day), 'v', int(c.used))
          redis.call('PEXPIRE', key, math.max(1, (c.day + 1) * DAY - now) + GRACE)
        else
          slot = redis.call('HINCRBY', key, 'i', 1)
          c.used = c.used + grant
          local expiry = now + leaseMs
          redis.call('HSET', key, 'l' .. int(slot), int(grant) .. ':' .. int(expiry))
          if expiry > c.leaseEnd then c.leaseEnd = expiry end
          -- Leases of a crashed gateway are never released; each expires on its own, and the
          -- hash with the last of them.
          redis.call('PEXPIRE', key, math.max(1, c.leaseEnd - now) + GRACE)
        end
        if c.name ~= ARGV[c.meta] or c.quotaText ~= ARGV[c.meta + 1] then
          redis.call('HSET', key, 'n', ARGV[c.meta], 'q', ARGV[c.meta + 1], 'u', ARGV[c.meta + 2], 'w', ARGV[c.meta + 3])
        end
      end
      local entry = {c.grant and 1 or 0, slot, grant}
      if c.kind == 'r' and c.grant == nil then
        -- Refuses: every slot, oldest first, for Retry-After.
        table.sort(c.slots, function(x, y) return x[1] < y[1] end)
        for _, s in ipairs(c.slots) do entry[#entry + 1] = s[1]; entry[#entry + 1] = s[2] end
      elseif c.kind == 'r' then
        -- Collapsed: the oldest counted slot holding the total (see above).
        local oldest = nil
        for _, s in ipairs(c.slots) do
          if s[2] > 0 and (oldest == nil or s[1] < oldest) then oldest = s[1] end
        end
        if oldest then entry[4] = oldest; entry[5] = c.used end
      elseif c.kind == 'd' then
        entry[4] = c.day; entry[5] = c.used
      else
        entry[4] = c.used
      end
      reply[#reply + 1] = entry
    end
    return reply
    """

    /// KEYS: the counter of each settlement (a key may repeat). ARGV: 3 per settlement: kind
    /// (`r`, `d`, `c`), slot (slot index, day, lease id), delta (real − reserved).
    ///
    /// A rolling slot or day that has gone is not revived; a lease is deleted. Returns how many
    /// settlements changed something.
    static let settle = """
    local function int(x) return string.format('%d', x) end
    local changed = 0
    for i = 1, #KEYS do
      local key, a = KEYS[i], (i - 1) * 3
      local kind, slot, delta = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
      if kind == 'r' then
        local v = redis.call('HGET', key, 's' .. slot)
        if v then
          redis.call('HSET', key, 's' .. slot, int(math.max(0, tonumber(v) + delta)))
          changed = changed + 1
        end
      elseif kind == 'd' then
        if redis.call('HGET', key, 'd') == slot then
          local v = tonumber(redis.call('HGET', key, 'v') or '0')
          redis.call('HSET', key, 'v', int(math.max(0, v + delta)))
          changed = changed + 1
        end
      else
        changed = changed + redis.call('HDEL', key, 'l' .. slot)
      end
    end
    return changed
    """

    static let decideSHA = sha1(decide)
    static let settleSHA = sha1(settle)

    static func sha1(_ script: String) -> String {
        Insecure.SHA1.hash(data: Array(script.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

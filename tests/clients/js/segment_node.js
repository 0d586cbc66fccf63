// Sends through the official @segment/analytics-node, unmodified: node segment_node.js HOST WRITE_KEY PLAYER COUNT EPOCH_MS
// A resend is the same messages: ids and times (EPOCH_MS + i s). COUNT tracks (messageId PLAYER-i), one identify (messageId PLAYER-identify); exits 0 when flushed without error.
const { Analytics } = require('@segment/analytics-node')

async function main () {
  const [host, writeKey, player, count, at] = process.argv.slice(2)
  const time = (i) => new Date(Number(at) + i * 1000)
  const analytics = new Analytics({ writeKey, host, flushAt: 20, maxRetries: 3 })
  const errors = []
  analytics.on('error', (err) => errors.push(err))
  for (let i = 0; i < Number(count); i++) {
    analytics.track({ userId: player, event: 'Level Up', messageId: `${player}-${i}`, timestamp: time(i), properties: { level: i, hero: { class: 'mage' } } })
  }
  analytics.identify({ userId: player, messageId: `${player}-identify`, timestamp: time(0), traits: { plan: 'vip' }, context: { app: { version: '2.0.0' } } })
  await analytics.closeAndFlush({ timeout: 20000 })
  if (errors.length) {
    console.error(errors)
    process.exit(1)
  }
}
main().catch((err) => { console.error(err); process.exit(1) })

import { MemoryStore } from '../src/store/memory-store.js'
import { describeStoreContract } from './store-contract.js'

describeStoreContract('memory', (clock) => new MemoryStore({ now: clock.now }))

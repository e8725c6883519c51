package rediscart

// AccessString is the ACL of the cart functions' cache user: its own keys only,
// reads, writes, Lua scripts, the connection commands, and the CLUSTER
// subcommands the cluster client reads the slot map with. The CDK app gives the
// ElastiCache user the same string (an assertion test compares them) and the
// local redis-server its ACL user, so the tests prove the string is enough.
const AccessString = "on ~{cart:* resetchannels -@all +@read +@write +@scripting +@connection -@dangerous +cluster|slots +cluster|shards +cluster|nodes +cluster|info +cluster|myid"

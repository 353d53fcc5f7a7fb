// Package redisstore keeps sessions in Redis (a single node, Sentinel or
// Cluster through go-redis's UniversalClient), for apps that run on several
// instances: the cookie holds only a random session ID, the encrypted
// session lives in Redis, writes are compare-and-swap, and a leased lock
// lets one instance at a time refresh a session's tokens. A session's keys
// share one Cluster slot; with replicas, set Config.WaitReplicas so that a
// failover loses no session (the README's "Redis Cluster and Sentinel").
// It is a package of its own so that an app on cookies does not link
// go-redis.
package redisstore

// Package redisstore keeps sessions in Redis, for an app that runs on
// several instances: give its [Store] to middleware.Config.Store on every
// instance, with the same Keys, and Setup uses it instead of cookies.
//
// The browser's cookie holds only a random session ID; the session lives in
// Redis, encrypted with the Keys, so Redis never holds a token in clear.
// Writes are compare-and-swap, and a leased lock lets one instance at a
// time refresh a session's tokens, so a rotated refresh token is never
// presented twice. A sign-out (back-channel logout, signing a user out
// everywhere) deletes the sessions themselves, on every instance at once.
// An app that keeps sessions in cookies on several instances shares a
// [DenyList] instead: it ends those sessions and coordinates their
// refreshes.
//
// A single node, Sentinel or Cluster works through go-redis's
// UniversalClient; a session's keys share one Cluster slot. With replicas,
// set Config.WaitReplicas so that a failover loses no session (the
// README's "Redis Cluster and Sentinel"). It is a package of its own so
// that an app on cookies does not link go-redis.
package redisstore

// Package cache is the shop's Valkey (ElastiCache Serverless in AWS, a
// one-node redis-server cluster locally, both in cluster mode with TLS and
// an ACL user): the client every function connects with (NewClient, the IAM
// auth token, Warm), and what the cache keeps per owner: carts (Carts) and
// guest sessions (Sessions). The product cache, which keeps products for the
// catalogue on the same client, is package productcache.
package cache

"""The one small package the services share: configuration, logging and gRPC plumbing."""

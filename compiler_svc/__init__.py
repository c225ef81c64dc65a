"""compiler_svc: process definitions, collection catalogue, validation and execution plans."""

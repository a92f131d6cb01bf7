"""The broker adapter: the only package that imports aio-pika."""

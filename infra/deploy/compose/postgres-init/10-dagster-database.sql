-- The Dagster instance gets its own database on the same server as governance's.
CREATE DATABASE dagster OWNER meshlake;

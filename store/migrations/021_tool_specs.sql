-- What each worker that serves tools tells a model about them, registered as it starts:
-- a model agent's step runs on a worker that may not define the tools it offers (they are
-- served on another task queue), and reads their description and input schema from here.
CREATE TABLE IF NOT EXISTS {{schema}}.tool_specs (
  namespace    text NOT NULL,
  task_queue   text NOT NULL,
  tool         text NOT NULL,
  description  text,
  input_schema jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, task_queue, tool)
);

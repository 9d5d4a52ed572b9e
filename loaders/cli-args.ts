/** commander argument parsers shared by the CLI's commands: a bad value names the option. */
import { InvalidArgumentError } from "commander";

export const num = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
  return x;
};

export const int = (name: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return x;
};

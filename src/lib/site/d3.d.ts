// The slice of d3 (self-hosted from node_modules by Framework) that the site's modules use; d3 ships no types.
declare module "d3" {
  export function interpolateViridis(t: number): string;
  export function interpolateYlOrRd(t: number): string;
}

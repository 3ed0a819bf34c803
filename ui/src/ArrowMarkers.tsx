/** The arrowheads of delegation and handoff edges, defined once per SVG under an id prefix. */
export function ArrowMarkers({ prefix }: { prefix: string }) {
  return (
    <>
      {(['delegation', 'handoff'] as const).map((kind) => (
        <marker key={kind} id={`${prefix}arrow-${kind}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" className={`arrowhead-${kind}`} />
        </marker>
      ))}
    </>
  );
}

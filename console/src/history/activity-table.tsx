import type { ActivitySummaryFragment } from 'podgraph/client';
import { timestamp } from '../format';

/** Activity as rows: when, what, who, how it ended, what about; with the container when several are shown. */
export function ActivityTable({ items, withContainer = false }: { items: ActivitySummaryFragment[]; withContainer?: boolean }) {
  return (
    <table data-testid="activity">
      <tbody>
        {items.map((item) => (
          <tr key={item.id} data-kind={item.kind}>
            <td>{timestamp(item.at)}</td>
            {withContainer && <td>{item.containerName}</td>}
            <td>{item.kind}</td>
            <td>
              {item.caller} ({item.callerRole})
            </td>
            <td class={item.outcome === 'ok' ? 'ok' : 'failed'}>{item.outcome}</td>
            <td>{item.path ?? item.username ?? item.terminalId ?? (item.exitCode != null ? `exit code ${item.exitCode}` : '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

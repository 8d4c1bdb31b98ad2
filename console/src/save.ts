/** Hands `blob` to the browser as a download named `name`. */
export function saveAs(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  // Revoked at once, the URL could be gone before the browser has read it.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// The HTML shell of a webview: a strict Content-Security-Policy with a per-load nonce, assets only from media/.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

export interface WebviewPage {
  title: string;
  /** File names under media/, loaded in order. */
  scripts: string[];
  styles: string[];
  /** Static markup of the page body (no user data: that comes later through postMessage). */
  body: string;
}

export function webviewOptions(mediaRoot: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [mediaRoot] };
}

export function webviewHtml(webview: vscode.Webview, mediaRoot: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(18).toString('base64');
  const asset = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, name)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
    "form-action 'none'",
    "frame-src 'none'",
  ].join('; ');
  const styles = page.styles.map((name) => `<link rel="stylesheet" href="${asset(name)}">`).join('\n    ');
  const scripts = page.scripts.map((name) => `<script nonce="${nonce}" src="${asset(name)}"></script>`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${csp}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${styles}
    <title>${page.title}</title>
  </head>
  <body>
    ${page.body}
    ${scripts}
  </body>
</html>`;
}

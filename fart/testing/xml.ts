/**
 * Test helper: an XML document read by saxes, a conformant XML 1.0 parser, which throws at
 * the first thing that is not well-formed (a forbidden character, an unescaped "<", a
 * stray "]]>"), as resvg's parser does before it draws a PNG.
 */
import { SaxesParser } from "saxes";

/** Characters XML 1.0 forbids: C0 controls but tab, LF and CR; U+FFFE; U+FFFF; surrogates. */
// deno-lint-ignore no-control-regex
export const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Cs}/u;

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  /** The element's own text, entities decoded. */
  text: string;
}

/** Every element of a well-formed document, in document order; throws on any error. */
export function parseXml(xml: string): XmlElement[] {
  const parser = new SaxesParser();
  const elements: XmlElement[] = [];
  const open: XmlElement[] = [];
  parser.on("error", (err) => {
    throw err;
  });
  parser.on("opentag", (tag) => {
    const element = {
      name: tag.name,
      attributes: tag.attributes as Record<string, string>,
      text: "",
    };
    elements.push(element);
    open.push(element);
  });
  parser.on("text", (text) => {
    const current = open.at(-1);
    if (current) current.text += text;
  });
  parser.on("closetag", () => void open.pop());
  parser.write(xml).close();
  return elements;
}

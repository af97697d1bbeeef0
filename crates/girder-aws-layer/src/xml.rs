//! A small mutable XML tree for rewriting AWS responses (EC2, IAM, Route 53, ELB): parse
//! with quick-xml, change a status, drop an `<item>`, write it back. Public so that code
//! calling AWS beside the layer ([`crate::client::AwsClient`]) reads answers the same way.
//!
//! Only what AWS responses contain is kept: elements with attributes (namespaces stay as
//! written attributes), text and CDATA (as text). Comments and processing instructions are
//! dropped; the XML declaration is written back when the input had one.

use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

/// A node: an element or text.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Text (unescaped).
    Text(String),
}

/// An element with its attributes and children.
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    /// The qualified name as written (`item`, `vpcId`).
    pub name: String,
    /// Attributes as written (unescaped values).
    pub attrs: Vec<(String, String)>,
    /// Children in order.
    pub children: Vec<Node>,
}

/// A parsed document.
#[derive(Clone, Debug)]
pub struct Document {
    declaration: bool,
    /// The root element.
    pub root: Element,
}

/// Why a body is not XML we can rewrite.
#[derive(Debug, thiserror::Error)]
#[error("not an XML document: {0}")]
pub struct XmlError(String);

impl Document {
    /// Parses a whole document.
    pub fn parse(text: &str) -> Result<Document, XmlError> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(false);
        let mut declaration = false;
        let mut stack: Vec<Element> = Vec::new();
        let mut root = None;
        loop {
            let event = reader.read_event().map_err(|e| XmlError(e.to_string()))?;
            match event {
                Event::Decl(_) => declaration = true,
                Event::Start(start) => stack.push(element_of(&start)?),
                Event::Empty(start) => {
                    let element = element_of(&start)?;
                    close(&mut stack, &mut root, element);
                }
                Event::End(_) => {
                    let element = stack
                        .pop()
                        .ok_or_else(|| XmlError("an end tag without a start".into()))?;
                    close(&mut stack, &mut root, element);
                }
                Event::Text(text) => {
                    let text = text.decode().map_err(|e| XmlError(e.to_string()))?;
                    push_text(&mut stack, &text);
                }
                Event::CData(data) => {
                    let text = data.decode().map_err(|e| XmlError(e.to_string()))?;
                    push_text(&mut stack, &text);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference
                        .resolve_char_ref()
                        .map_err(|e| XmlError(e.to_string()))?
                    {
                        Some(c) => c.to_string(),
                        None => {
                            let name = reference.decode().map_err(|e| XmlError(e.to_string()))?;
                            resolve_predefined_entity(&name)
                                .ok_or_else(|| XmlError(format!("unknown entity &{name};")))?
                                .to_owned()
                        }
                    };
                    push_text(&mut stack, &resolved);
                }
                Event::Eof => break,
                Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        let root = root.ok_or_else(|| XmlError("no root element".into()))?;
        Ok(Document { declaration, root })
    }

    /// Writes the document back.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.declaration {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        self.root.write(&mut out);
        out
    }
}

fn element_of(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError(e.to_string()))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|e| XmlError(e.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
    })
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(parent) = stack.last_mut() {
        match parent.children.last_mut() {
            Some(Node::Text(existing)) => existing.push_str(text),
            _ => parent.children.push(Node::Text(text.to_owned())),
        }
    }
}

impl Element {
    /// A new element with only text.
    pub fn with_text(name: &str, text: &str) -> Element {
        Element {
            name: name.to_owned(),
            attrs: Vec::new(),
            children: vec![Node::Text(text.to_owned())],
        }
    }

    /// The local name (without a namespace prefix).
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    /// The element's text (its text children joined).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect::<String>()
            .trim()
            .to_owned()
    }

    /// Replaces the element's children with one text node.
    pub fn set_text(&mut self, text: &str) {
        self.children = vec![Node::Text(text.to_owned())];
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The child elements, mutably.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.local_name() == name)
    }

    /// The first child element named `name`, mutably.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.elements_mut().find(|e| e.local_name() == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(Element::text)
    }

    /// Sets the text of the child `name`, adding the child when it is missing.
    pub fn set_child_text(&mut self, name: &str, text: &str) {
        match self.child_mut(name) {
            Some(child) => child.set_text(text),
            None => self
                .children
                .push(Node::Element(Element::with_text(name, text))),
        }
    }

    /// Removes the child elements for which `drop` answers true; returns how many.
    pub fn remove_elements(&mut self, mut drop: impl FnMut(&Element) -> bool) -> usize {
        let before = self.children.len();
        self.children.retain(|c| match c {
            Node::Element(e) => !drop(e),
            Node::Text(_) => true,
        });
        before - self.children.len()
    }

    /// Calls `visit` on this element and every descendant element, depth first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Element)) {
        visit(self);
        for child in self.elements() {
            child.walk(visit);
        }
    }

    /// Calls `visit` on this element and every descendant element, mutably.
    pub fn walk_mut(&mut self, visit: &mut impl FnMut(&mut Element)) {
        visit(self);
        for child in self.elements_mut() {
            child.walk_mut(visit);
        }
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (key, value) in &self.attrs {
            out.push(' ');
            out.push_str(key);
            out.push_str("=\"");
            out.push_str(&escape(value.as_str()));
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Text(text) => out.push_str(&escape(text.as_str())),
                Node::Element(e) => e.write(out),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_survives_a_round_trip_with_entities() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R xmlns=\"urn:x\"><a>1 &amp; 2 &#38; &lt;3&gt;</a><b/></R>";
        let doc = Document::parse(text).unwrap();
        assert_eq!(doc.root.child_text("a").unwrap(), "1 & 2 & <3>");
        let again = Document::parse(&doc.render()).unwrap();
        assert_eq!(again.root, doc.root);
        assert!(doc.render().contains("xmlns=\"urn:x\""));
    }

    #[test]
    fn items_are_removed_and_texts_set() {
        let mut doc =
            Document::parse("<R><set><item><id>a</id></item><item><id>b</id></item></set></R>")
                .unwrap();
        let set = doc.root.child_mut("set").unwrap();
        assert_eq!(
            set.remove_elements(|e| e.child_text("id").as_deref() == Some("a")),
            1
        );
        set.elements_mut()
            .next()
            .unwrap()
            .set_child_text("state", "pending");
        assert_eq!(
            doc.render(),
            "<R><set><item><id>b</id><state>pending</state></item></set></R>"
        );
    }
}

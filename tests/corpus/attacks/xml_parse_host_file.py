# attack: ElementTree.parse opens paths itself, outside the guarded open()
# expect: xml.etree.ElementTree.parse() of path '/etc/fonts/fonts.conf' is not allowed
import xml.etree.ElementTree as ET

print(ET.parse("/etc/fonts/fonts.conf").getroot().tag)

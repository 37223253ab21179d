<signature>

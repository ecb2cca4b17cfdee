;; expect: undeclared-local
(vl-load-com)
(defun c:MSPACE (/ doc)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (setq ms (vla-get-ModelSpace doc))
  (princ (vla-get-Count ms))
  (princ)
)

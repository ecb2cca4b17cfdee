;; expect: missing-vl-load-com
(defun c:DOCNAME ()
  (princ (vla-get-Name (vla-get-ActiveDocument (vlax-get-acad-object))))
  (princ)
)
